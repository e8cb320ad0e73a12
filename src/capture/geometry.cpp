#include "capture/geometry.hpp"

#include <algorithm>
#include <cmath>

#include "capture/occupants.hpp"
#include "core/camera.hpp"

namespace laneface::capture {

CameraPose CameraPose::look_at(const cv::Vec3d& position, const cv::Vec3d& target, double focal,
                               cv::Size size) {
  CameraPose c;
  c.position = position;
  c.rotation = core::look_at_rotation(position, target);
  c.focal = focal;
  c.size = size;
  return c;
}

CameraPose CameraPose::scaled_to(cv::Size frame) const {
  CameraPose c = *this;
  if (size.width > 0 && frame.width > 0) c.focal = focal * frame.width / size.width;
  c.size = frame;
  return c;
}

cv::Vec3d CameraPose::ray(double u, double v) const {
  const cv::Vec3d d((u - size.width / 2.0) / focal, (v - size.height / 2.0) / focal, 1.0);
  return cv::normalize(rotation.t() * d);
}

cv::Point2d CameraPose::project(const cv::Vec3d& world, double* depth) const {
  const cv::Vec3d c = rotation * (world - position);
  if (depth) *depth = c[2];
  return {focal * c[0] / c[2] + size.width / 2.0, focal * c[1] / c[2] + size.height / 2.0};
}

std::optional<RayMeet> closest_points(const cv::Vec3d& o1, const cv::Vec3d& d1, const cv::Vec3d& o2,
                                      const cv::Vec3d& d2) {
  const cv::Vec3d w = o1 - o2;
  const double a = d1.dot(d1), b = d1.dot(d2), c = d2.dot(d2), d = d1.dot(w), e = d2.dot(w);
  const double den = a * c - b * b;
  if (den < 1e-9) return std::nullopt;
  RayMeet m;
  m.t1 = (b * e - c * d) / den;
  m.t2 = (a * e - b * d) / den;
  const cv::Vec3d q1 = o1 + m.t1 * d1, q2 = o2 + m.t2 * d2;
  m.gap = cv::norm(q1 - q2);
  m.point = 0.5 * (q1 + q2);
  return m;
}

double line_angle_deg(const cv::Vec3d& a, const cv::Vec3d& b) {
  const double na = cv::norm(a), nb = cv::norm(b);
  if (na <= 0 || nb <= 0) return 0;
  const double c = std::min(1.0, std::abs(a.dot(b)) / (na * nb));
  return std::acos(c) * 180.0 / CV_PI;
}

std::vector<Constraint> vehicle_constraints(const TrackSpan& track, const CameraPose& camera,
                                            double speed, long origin,
                                            const GeometryOptions& options) {
  std::vector<Constraint> out;
  out.reserve(track.points.size());
  for (const TrackPoint& p : track.points) {
    if (p.w <= 0) continue;
    const cv::Vec3d d = camera.ray(p.x, p.y);
    const cv::Vec3d axis = camera.rotation.t() * cv::Vec3d(0, 0, 1);
    const double cos_axis = std::max(1e-3, d.dot(axis));
    // The face looks along +X: seen from the side its box is narrower (the simulator's and a
    // real face's foreshortening, 0.6 + 0.4 cos of the horizontal angle).
    const double h = std::hypot(d[0], d[1]);
    const double facing = h > 0 ? std::max(0.26, -d[0] / h) : 1.0;
    const double depth = options.face_m * camera.focal * (0.6 + 0.4 * facing) / p.w;
    const double range = depth / cos_axis;
    // The vehicle has moved speed * (frame - origin) along +X since `origin`: the camera, seen
    // from the vehicle, has moved back as much.
    const cv::Vec3d o = camera.position - cv::Vec3d(speed * double(p.frame - origin), 0, 0);
    Constraint c;
    c.dir = d;
    c.point = o + range * d;
    const double across = std::max(0.01, range * options.sigma_px / camera.focal);
    const double along = std::max(0.01, options.sigma_range * range);
    c.across = 1 / (across * across);
    c.along = 1 / (along * along);
    out.push_back(c);
  }
  return out;
}

std::optional<PositionFit> fit_position(const std::vector<Constraint>& constraints) {
  if (constraints.empty()) return std::nullopt;
  cv::Matx33d a = cv::Matx33d::zeros();
  cv::Vec3d b(0, 0, 0);
  auto weight = [](const Constraint& c) {
    const cv::Matx33d dd = c.dir * c.dir.t();
    return c.across * (cv::Matx33d::eye() - dd) + c.along * dd;
  };
  for (const Constraint& c : constraints) {
    const cv::Matx33d w = weight(c);
    a += w;
    b += w * c.point;
  }
  cv::Vec3d p;
  if (!cv::solve(a, b, p, cv::DECOMP_CHOLESKY)) return std::nullopt;
  PositionFit fit;
  fit.point = p;
  fit.n = constraints.size();
  for (const Constraint& c : constraints) {
    const cv::Vec3d e = p - c.point;
    const double al = e.dot(c.dir);
    fit.chi2 += c.across * (e.dot(e) - al * al) + c.along * al * al;
  }
  return fit;
}

std::optional<double> estimate_speed(const std::vector<TrackSpan>& tracks,
                                     const std::map<std::string, CameraPose>& cameras, long origin,
                                     const GeometryOptions& options) {
  std::vector<std::pair<const TrackSpan*, const CameraPose*>> used;
  for (const TrackSpan& t : tracks) {
    const auto it = cameras.find(t.camera);
    if (it != cameras.end() && t.points.size() >= 3) used.emplace_back(&t, &it->second);
  }
  if (used.empty() || options.fps <= 0 || options.speed_step <= 0) return std::nullopt;
  std::optional<double> best;
  double best_cost = 0;
  const int steps = int(std::floor((options.max_speed - options.min_speed) / options.speed_step));
  for (int k = 0; k <= steps; ++k) {
    const double v = (options.min_speed + k * options.speed_step) / options.fps;
    double cost = 0;
    for (const auto& [t, cam] : used) {
      const auto fit = fit_position(vehicle_constraints(*t, *cam, v, origin, options));
      const double n = double(t->points.size());
      cost += fit ? std::min(fit->chi2 / n, options.point_cap) * n : options.point_cap * n;
    }
    if (!best || cost < best_cost) best = v, best_cost = cost;
  }
  return best;
}

}  // namespace laneface::capture
