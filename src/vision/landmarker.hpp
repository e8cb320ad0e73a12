#pragma once
// 68-point landmarks from the detector box, and the 5-point reduction used for alignment.
#include <memory>
#include <opencv2/core.hpp>

#include "core/types.hpp"
#include "vision/net_pool.hpp"

namespace laneface::vision {

class Landmarker {
 public:
  explicit Landmarker(std::shared_ptr<NetPool> pool);

  // Requires an 8-bit BGR image and a box with positive size. The crop is the box, moved
  // (not shrunk) to lie inside the image where it fits. Thread-safe.
  core::Landmarks68 predict(const cv::Mat& bgr, const core::Box& box) const;

  // Test-time augmentation: the mean of the predictions for the box and four copies moved
  // by `shift` of its size (left, right, up, down). Five forward passes.
  core::Landmarks68 predict_averaged(const cv::Mat& bgr, const core::Box& box, float shift) const;

 private:
  std::shared_ptr<NetPool> pool_;
};

// Eye centres (mean of points 36-41 and 42-47), nose tip (30), mouth corners (48, 54).
core::Landmarks5 reduce_to_5(const core::Landmarks68& lm);

// The crop the landmark model sees for a box: the box moved inside the image.
cv::Rect landmark_crop(const core::Box& box, cv::Size image);

}  // namespace laneface::vision
