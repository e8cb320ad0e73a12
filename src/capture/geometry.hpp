#pragma once
// Camera geometry for joining tracks across cameras: each camera's pose (calibration, from
// config/lane.toml [lane.cameras.<id>] or a lane's lane.json) turns a face sighting into a ray
// and, from the face's width against a face-size prior, a rough range. The vehicle moves
// along the world X axis at one speed, so removing that motion puts every sighting of one
// person on rays through one point fixed in the vehicle: tracks whose sightings fit one such
// point are one person, whatever camera saw them. World metres: X along travel, Y to the
// driver's side, Z up (docs/sim.md "The scene").
#include <map>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

namespace laneface::capture {

struct TrackSpan;  // capture/occupants.hpp

// A calibrated pinhole camera (no distortion, principal point at the image centre).
struct CameraPose {
  cv::Vec3d position;
  cv::Matx33d rotation = cv::Matx33d::eye();  // world → camera: x right, y down, z forward
  double focal = 1000;                        // px, for frames of `size`
  cv::Size size{1280, 720};

  // Looking from `position` at `target` (the camera's x axis horizontal).
  static CameraPose look_at(const cv::Vec3d& position, const cv::Vec3d& target, double focal,
                            cv::Size size);
  // The same camera for frames of another size (focal scaled with the width).
  CameraPose scaled_to(cv::Size frame) const;
  // Unit world direction of the ray through pixel (u, v).
  cv::Vec3d ray(double u, double v) const;
  // Pixel of a world point, and its depth along the optical axis (<= 0: behind the camera).
  cv::Point2d project(const cv::Vec3d& world, double* depth = nullptr) const;
};

// Closest points of two rays (origin + t * unit direction): their midpoint, the distance
// between them and each ray's t. nullopt for (nearly) parallel rays.
struct RayMeet {
  cv::Vec3d point;
  double gap = 0;
  double t1 = 0, t2 = 0;
};
std::optional<RayMeet> closest_points(const cv::Vec3d& o1, const cv::Vec3d& d1, const cv::Vec3d& o2,
                                      const cv::Vec3d& d2);

// The angle between the lines along two directions, degrees in [0, 90] (0: parallel or
// antiparallel, or a zero vector).
double line_angle_deg(const cv::Vec3d& a, const cv::Vec3d& b);

struct GeometryOptions {
  double face_m = 0.16;      // face width prior (the detector's box), metres
  double sigma_px = 6;       // sighting error across the ray, px (calibration error included)
  double sigma_range = 0.1;  // relative error of the range from the face width
  double min_speed = 0.5, max_speed = 4.0, speed_step = 0.1;  // m/s searched for the vehicle
  double fps = 15;
  double point_cap = 50;  // a track's misfit per sighting counts at most this (speed search)
};

// One sighting as a constraint on the person's position in the vehicle: a point on the ray
// at the estimated range, with weights across (a) and along (b) the ray (1 / sigma²).
struct Constraint {
  cv::Vec3d point, dir;
  double across = 1, along = 1;
};

// A track's sightings (points: frame, box centre and width) as constraints in the vehicle's
// frame at frame `origin` for a vehicle moving `speed` m per frame along +X. Empty when the
// camera has no pose.
std::vector<Constraint> vehicle_constraints(const TrackSpan& track, const CameraPose& camera,
                                            double speed, long origin,
                                            const GeometryOptions& options);

// The point that fits the constraints best (weighted least squares) and its misfit (chi²).
struct PositionFit {
  cv::Vec3d point;
  double chi2 = 0;
  std::size_t n = 0;
};
std::optional<PositionFit> fit_position(const std::vector<Constraint>& constraints);

// The vehicle's speed (m per frame) that lets each track be one fixed point in the vehicle
// best: grid search over options' range, each track's misfit capped per sighting. Tracks of
// cameras without a pose and of fewer than 3 points are not used; nullopt when none is left.
std::optional<double> estimate_speed(const std::vector<TrackSpan>& tracks,
                                     const std::map<std::string, CameraPose>& cameras, long origin,
                                     const GeometryOptions& options);

}  // namespace laneface::capture
