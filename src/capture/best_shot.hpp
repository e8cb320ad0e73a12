#pragma once
// Best-shot candidates of the lane (src/capture/lane_processor.cpp): the image a detection is
// judged and submitted as, and its cheap quality gate.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace laneface::quality {
class Assessor;
}

namespace laneface::capture {

// The face (box and landmarks) moved by d pixels.
core::Face shifted_face(core::Face f, cv::Point2f d);

// A detection's crop: the face box widened by one box size on every side, clipped to the
// frame, and the face (box and landmarks) in the crop's coordinates. This is the image the
// full assessment sees and the one submitted for matching.
struct ShotCrop {
  cv::Mat image;  // a copy, not a view of the frame
  core::Face face;
};
ShotCrop shot_crop(const cv::Mat& frame, const core::Face& face);

// The cheap measures of one face (quality::Scope::kCheap) and the profile check on them.
struct CheapShot {
  float unified = 0;    // unified score of the cheap measures
  bool passed = false;  // the profile passed on the cheap measures
  float ied = 0;        // InterEyeDistance, px; 0 when not assessed
  float abs_yaw = 0;    // |HeadPoseYaw|, degrees; 0 when not assessed
};
CheapShot assess_cheap(const quality::Assessor& assessor, const cv::Mat& image,
                       const std::vector<core::Face>& faces, std::size_t index,
                       const std::string& profile);

}  // namespace laneface::capture
