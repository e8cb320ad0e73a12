#pragma once
// The face engine: the manifest's models wired together (detect → 68 landmarks → 5 points →
// aligned chip → template). No global state: create one and pass it. Thread-safe: every
// method may be called from several threads at once.
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "vision/detector.hpp"
#include "vision/landmarker.hpp"
#include "vision/manifest.hpp"
#include "vision/recognizer.hpp"

namespace laneface::vision {

// config/fusion.toml in the source tree (written by `laneface calibrate fusion`).
std::filesystem::path default_fusion_path();

struct EngineOptions {
  std::filesystem::path manifest = default_manifest_path();
  EmbedOptions embed;
  // Manifest id of the recognizer (role "recognizer"), or "fused" for score fusion of the
  // recognizers that the fusion calibration file names.
  std::string recognizer = "fr_feature";
  std::filesystem::path fusion = default_fusion_path();
};

// The recognizer `id` of the manifest ("fused": the fusion calibration file's parts).
// Throws core::Error naming the id when it is unknown or not a recognizer.
std::unique_ptr<Recognizer> create_recognizer(const Manifest& manifest, const std::string& id,
                                              const EngineOptions& options);

class FaceEngine {
 public:
  // Loads and verifies the detector, landmark and recognizer models.
  // Throws core::Error naming the manifest or model file on any problem.
  explicit FaceEngine(const EngineOptions& options = {});

  // Every face in the image, each with 68 and 5 landmarks.
  std::vector<core::Face> analyze(const cv::Mat& bgr, const DetectOptions& options = {}) const;
  void add_landmarks(const cv::Mat& bgr, core::Face& face) const;
  core::Template embed(const cv::Mat& bgr, const core::Face& face) const;

  const EngineOptions& options() const { return options_; }
  const Manifest& manifest() const { return manifest_; }
  const Detector& detector() const { return *detector_; }
  const Landmarker& landmarker() const { return *landmarker_; }
  const Recognizer& recognizer() const { return *recognizer_; }

 private:
  EngineOptions options_;
  Manifest manifest_;
  std::unique_ptr<Detector> detector_;
  std::unique_ptr<Landmarker> landmarker_;
  std::unique_ptr<Recognizer> recognizer_;
};

// The face of interest in a portrait-like image: the largest face, favouring the centre.
// Returns nullopt when `faces` is empty.
std::optional<std::size_t> face_of_interest(const std::vector<core::Face>& faces, cv::Size image);

}  // namespace laneface::vision
