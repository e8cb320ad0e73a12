#pragma once
// Face-image quality measures in the manner of ISO/IEC 29794-5 and OFIQ: each measure is a
// small class registered by name; it computes a raw value (or says why it cannot) and the
// assessor maps the raw value to a 0-100 component with the mapping from the config.
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "quality/head_pose.hpp"
#include "vision/net_pool.hpp"

namespace laneface::quality {

// A raw value, or the reason it could not be computed ("failed to assess").
struct Outcome {
  std::optional<double> value;
  std::string failure;

  static Outcome ok(double v) { return {v, {}}; }
  static Outcome fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

// How expensive a measure is: kCheap ones (geometry, pose from landmarks, image statistics)
// form the early gate that runs before any template is computed.
enum class Cost { kCheap, kModel };

// Optional networks for model-based measures. Null pools: those measures fail to assess.
// `recognizer` is an ArcFace-style embedding model (the manifest's fr_feature): the
// recognition-based measures look at how the matcher's own network sees the face.
struct Models {
  std::shared_ptr<vision::NetPool> eye;
  std::shared_ptr<vision::NetPool> pose;
  std::shared_ptr<vision::NetPool> recognizer;
};

// The face as the recognizer sees it, for the recognition-based measures: the chip aligned
// to the recognizer's five-point template, its mirror image, and a jittered chip (the
// template shrunk by 6 % about the chip centre and moved by 2 % of the chip side, as a small
// error of the landmarks would move it).
enum class ChipVariant { kPlain = 0, kMirrored = 1, kJittered = 2 };

// Limits below which image measures are not attempted (from the config).
struct Limits {
  double min_inter_eye = 8;           // px
  double max_outside_fraction = 0.1;  // of the face region lying outside the image
  int chip_size = 128;                // side of the aligned gray face chip
};

// Everything a measure may look at for one face. Derived data (the aligned chip, the pose)
// is computed on first use and cached; not thread-safe (one context per face and thread).
class FaceContext {
 public:
  // Requires an 8-bit BGR image and `index` < faces.size(). The face needs landmarks68 for
  // most measures; without them those measures fail to assess.
  FaceContext(const cv::Mat& bgr, std::span<const core::Face> faces, std::size_t index,
              const Models& models, const Limits& limits);

  const cv::Mat& image() const { return bgr_; }
  const core::Face& face() const { return faces_[index_]; }
  std::span<const core::Face> faces() const { return faces_; }
  const Models& models() const { return models_; }
  const Limits& limits() const { return limits_; }

  // Eye centres (image-left eye first) and the distance between them; nullopt without landmarks.
  std::optional<std::pair<cv::Point2f, cv::Point2f>> eyes() const;
  double inter_eye_distance() const;  // 0 without landmarks

  // Empty when the face can be assessed from its pixels; else why not (no landmarks, too
  // small, too much of it outside the image).
  const std::string& pixel_failure() const;
  // Gray chip: the face aligned by its eyes and mouth, `chip_size` square, and the mask of
  // chip pixels that come from inside the image. Requires pixel_failure() to be empty.
  const cv::Mat& chip() const;
  const cv::Mat& chip_mask() const;
  // The inner face region of the chip (eyes to chin, cheek to cheek).
  cv::Rect chip_face_region() const;

  // Pose from the 68 landmarks; failure when there are none or the face is too small.
  const Outcome& pose_failure() const;
  const HeadPose& landmark_pose() const;  // requires pose_failure().failure empty

  // The recognizer's raw (not normalised) embedding of the face's chip `variant`, computed
  // once per variant. Empty, with `why` set, when it cannot be computed (no recognizer model,
  // no landmarks, face too small or at the border).
  const std::vector<float>& embedding(ChipVariant variant, std::string& why) const;

 private:
  void prepare_chip() const;
  void prepare_pose() const;

  const cv::Mat& bgr_;
  std::span<const core::Face> faces_;
  std::size_t index_;
  const Models& models_;
  Limits limits_;
  mutable bool chip_ready_ = false, pose_ready_ = false;
  mutable std::string pixel_failure_;
  mutable cv::Mat chip_, chip_mask_;
  mutable Outcome pose_status_;
  mutable HeadPose pose_;
  mutable std::array<std::optional<std::vector<float>>, 3> embeddings_;
};

class Measure {
 public:
  virtual ~Measure() = default;
  virtual Cost cost() const { return Cost::kCheap; }
  // Words and unit for requirement messages: "yaw" and "°" give "yaw 38° exceeds 30°".
  virtual std::string_view label() const = 0;
  virtual std::string_view unit() const { return ""; }
  // Never throws for bad faces: returns Outcome::fail with a reason instead.
  virtual Outcome compute(const FaceContext& ctx) const = 0;
};

// Measure parameters from the config ([quality.measures.NAME.params]).
using MeasureParams = std::map<std::string, double>;

// Name → factory. Not a global: create one with builtin_registry() and pass it around. `model`
// is the file of a learned measure's fitted model ([quality.measures.NAME] model), else empty.
class MeasureRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Measure>(const MeasureParams&,
                                                         const std::filesystem::path& model)>;
  void add(std::string name, Factory factory);
  // Throws core::Error(kConfig) naming the measure when it is unknown, or when a learned
  // measure's model file is missing or malformed.
  std::unique_ptr<Measure> create(const std::string& name, const MeasureParams& params,
                                  const std::filesystem::path& model = {}) const;
  bool contains(const std::string& name) const { return factories_.count(name) > 0; }
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Factory> factories_;
};

// Every measure of this module: InterEyeDistance, HeadSize, the four crop margins,
// HeadPoseYaw/Pitch/Roll, Sharpness, the exposure and luminance measures,
// IlluminationUniformity, EyesOpen, EyesVisible, MouthClosed, SingleFacePresent,
// CompressionArtifacts, HeadPoseModelAgreement, and the recognition-based TemplateNorm,
// TemplateMirrorStability, TemplateJitterStability and TemplateQualityHead (learned).
MeasureRegistry builtin_registry();

}  // namespace laneface::quality
