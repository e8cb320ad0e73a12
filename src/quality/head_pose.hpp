#pragma once
// Head pose from the 68 landmarks: a generic 3D face model (14 points) fitted with
// cv::solvePnP under a pinhole camera whose focal length is the larger image side.
#include <opencv2/core.hpp>
#include <optional>

#include "core/types.hpp"

namespace laneface::quality {

// Degrees. yaw > 0: the face turns towards the image's right; pitch > 0: the face looks up;
// roll > 0: the head tilts clockwise as the image is displayed (right eye lower).
struct HeadPose {
  double yaw = 0, pitch = 0, roll = 0;
};

// Requires landmarks inside (or near) an image of `image` size. Returns nullopt when the fit
// fails or gives non-finite angles.
std::optional<HeadPose> head_pose_from_landmarks(const core::Landmarks68& lm, cv::Size image);

}  // namespace laneface::quality
