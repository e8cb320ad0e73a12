#pragma once
// Face detector over the fixed-size RFB-320 model. The model only takes 320x240, so a large
// frame is covered by a pyramid of views: the whole frame letterboxed, then overlapping tiles
// at finer scales until the smallest wanted face is large enough for the model; boxes from
// all views are merged by NMS. Thread-safe (nets come from a pool).
#include <memory>
#include <opencv2/core.hpp>
#include <vector>

#include "core/types.hpp"
#include "vision/net_pool.hpp"

namespace laneface::vision {

struct DetectOptions {
  int min_face = 40;           // smallest face width to find, source pixels
  float score_threshold = -1;  // < 0: the manifest's score_threshold
};

// One view of the pyramid: a source region and the scale at which the model sees it.
struct DetectorView {
  cv::Rect roi;
  double source_px_per_input_px = 1;
  float max_face = 0;  // source px; a tile keeps only faces a coarser level cannot see (0: any)
};

class Detector {
 public:
  explicit Detector(std::shared_ptr<NetPool> pool);

  // Requires an 8-bit BGR image. Returns faces sorted by score, boxes in source pixels.
  std::vector<core::Face> detect(const cv::Mat& bgr, const DetectOptions& options = {}) const;

  // The views detect() runs for an image of this size (exposed for tests and benchmarks).
  std::vector<DetectorView> plan(cv::Size image, int min_face) const;

  // Re-detects around a candidate at the model's preferred scale; returns the confirming
  // score (0 when the face is not found again).
  float verify(const cv::Mat& bgr, const core::Box& box) const;

  // Raw detections of one view, before the cross-view merge.
  std::vector<core::Face> detect_view(const cv::Mat& bgr, const DetectorView& view,
                                      float score_threshold) const;

 private:
  std::shared_ptr<NetPool> pool_;
  cv::Size input_;
  float score_threshold_;
  float nms_iou_;
  double min_input_face_;   // smallest face (input px) the model finds reliably
  double level_step_;       // scale ratio between pyramid levels
  float verify_threshold_;  // a candidate from a tile must be re-detected with this score
};

// Greedy NMS: a box is dropped when it overlaps a higher-scored one by IoU > iou, or when
// more than `containment` of its area lies inside it. Returns the kept faces, score-sorted.
std::vector<core::Face> merge_detections(std::vector<core::Face> faces, float iou,
                                         float containment);

}  // namespace laneface::vision
