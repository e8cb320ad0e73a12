#pragma once
// 1:N identification on a labelled photo set (labels.csv: image,identity; paths relative to
// the folder). Identities are split in two by sorted order: the even-indexed half is
// enrolled with one portrait each (the photo that best suits a document), its other photos
// are mated probes; every photo of the other half is a non-mated probe. Reports rank-1 and
// FNIR at fixed FPIR (ISO/IEC 19795-1), failures to acquire counted as misses.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>

#include "vision/face_engine.hpp"

namespace laneface::eval {

// What the quality profiles say about one photo's face of interest (see PhotoAssessor).
struct PhotoQuality {
  bool lane_capture = false;  // passes the `lane-capture` profile
  bool document = false;      // passes the `document` profile
  int document_failures = 0;  // failed requirements of the `document` profile
  double unified = 0;         // unified quality score, 0..100
};

// Assesses faces[index] of a photo (faces[index] has its landmarks; the others only boxes).
// Must be thread-safe. Supplied by the caller so that eval does not depend on quality.
using PhotoAssessor = std::function<PhotoQuality(
    const cv::Mat& bgr, std::span<const core::Face> faces, std::size_t index)>;

struct IdentifyOptions {
  std::filesystem::path data;
  int threads = 2;
  int min_face = 24;
  bool quiet = false;
  // With an assessor: each enrolled identity's portrait is the photo that best meets the
  // `document` profile (passes it; else fewest failed requirements; then highest unified
  // score), and the report adds the figures with probes failing `lane-capture` discarded.
  // Without one: the portrait is the most suitable by geometry (portrait_suitability).
  PhotoAssessor assess;
  // Fused recognizer only: "fuse only near the threshold". For each band b the report adds
  // the figures of a search that computes the second model only when the first model's best
  // score lies within b of the first model's threshold at the same FPIR (above the band:
  // the first model's candidate is accepted; below it: no candidate), and how often the
  // second model was needed.
  std::vector<double> gate_bands;
};

nlohmann::json run_identify(const vision::FaceEngine& engine, const IdentifyOptions& options);

// How well a face suits a document portrait, from geometry alone: larger and more frontal
// (nose tip centred between the eyes) is better. Used to pick each identity's enrolment photo.
double portrait_suitability(const core::Face& face);

struct IdentifyScores {
  // For each probe: its top gallery score and whether the top candidate is its mate.
  // Probes without a face have has_face = false and count as misses / no candidate.
  struct Probe {
    bool mated = false;
    bool has_face = false;
    bool top_is_mate = false;
    double top_score = 0;
    std::size_t item = 0;      // index of the probe image
    std::size_t top_item = 0;  // index of the top gallery candidate's image
  };
  std::vector<Probe> probes;
};

// rank-1, and FNIR at each FPIR (threshold from the non-mated top scores).
nlohmann::json identification_metrics(const IdentifyScores& scores,
                                      const std::vector<double>& fpirs);

}  // namespace laneface::eval
