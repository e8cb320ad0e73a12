#include "quality/head_pose.hpp"

#include <array>
#include <cmath>
#include <opencv2/calib3d.hpp>

namespace laneface::quality {
namespace {

// A generic head (arbitrary units), x to the subject's right = image left, y up, z towards
// the camera; the widely used 14-point model of head-pose estimation demos.
struct ModelPoint {
  int index;
  double x, y, z;
};
constexpr std::array<ModelPoint, 14> kModel{{
    {17, 6.825897, 6.760612, 4.402142},
    {21, 1.330353, 7.122144, 6.903745},
    {22, -1.330353, 7.122144, 6.903745},
    {26, -6.825897, 6.760612, 4.402142},
    {36, 5.311432, 5.485328, 3.987654},
    {39, 1.789930, 5.393625, 4.413414},
    {42, -1.789930, 5.393625, 4.413414},
    {45, -5.311432, 5.485328, 3.987654},
    {31, 2.005628, 1.409845, 6.165652},
    {35, -2.005628, 1.409845, 6.165652},
    {48, 2.774015, -2.080775, 5.048531},
    {54, -2.774015, -2.080775, 5.048531},
    {57, 0.000000, -3.116408, 6.097667},
    {8, 0.000000, -7.415691, 4.070434},
}};

}  // namespace

std::optional<HeadPose> head_pose_from_landmarks(const core::Landmarks68& lm, cv::Size image) {
  std::vector<cv::Point3d> object;
  std::vector<cv::Point2d> points;
  for (const auto& m : kModel) {
    // Camera frame: x right, y down, z away from the camera.
    object.emplace_back(-m.x, -m.y, -m.z);
    points.emplace_back(lm[m.index]);
  }
  const double f = std::max(image.width, image.height);
  const cv::Matx33d camera(f, 0, image.width / 2.0, 0, f, image.height / 2.0, 0, 0, 1);
  cv::Vec3d rvec, tvec;
  try {
    if (!cv::solvePnP(object, points, camera, cv::noArray(), rvec, tvec, false,
                      cv::SOLVEPNP_ITERATIVE)) {
      return std::nullopt;
    }
  } catch (const cv::Exception&) {
    return std::nullopt;
  }
  cv::Matx33d r;
  cv::Rodrigues(rvec, r);
  // The face looks along -z of its model; decompose R = Rz(roll) Ry(yaw) Rx(pitch).
  const double yaw = std::asin(std::clamp(-r(2, 0), -1.0, 1.0));
  const double pitch = std::atan2(r(2, 1), r(2, 2));
  const double roll = std::atan2(r(1, 0), r(0, 0));
  constexpr double kDeg = 180.0 / CV_PI;
  HeadPose pose{-yaw * kDeg, -pitch * kDeg, roll * kDeg};
  if (!std::isfinite(pose.yaw) || !std::isfinite(pose.pitch) || !std::isfinite(pose.roll) ||
      tvec[2] <= 0) {
    return std::nullopt;
  }
  return pose;
}

}  // namespace laneface::quality
