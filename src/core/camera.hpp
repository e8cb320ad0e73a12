#pragma once
// Pinhole camera orientation shared by the lane simulator (src/sim) and the lane pipeline's
// geometry (src/capture): world metres, X along travel, Y to the driver's side, Z up.
#include <opencv2/core.hpp>

namespace laneface::core {

// The world → camera rotation (camera x right, y down, z forward) of a camera at `from`
// looking at `target`, its x axis horizontal. `target` must not lie straight above or below.
inline cv::Matx33d look_at_rotation(const cv::Vec3d& from, const cv::Vec3d& target) {
  const cv::Vec3d fwd = cv::normalize(target - from);
  const cv::Vec3d right = cv::normalize(fwd.cross(cv::Vec3d(0, 0, 1)));
  const cv::Vec3d down = fwd.cross(right);
  return {right[0], right[1], right[2], down[0], down[1], down[2], fwd[0], fwd[1], fwd[2]};
}

}  // namespace laneface::core
