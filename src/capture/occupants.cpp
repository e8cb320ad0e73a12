#include "capture/occupants.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <opencv2/core/types.hpp>

namespace laneface::capture {

std::vector<std::vector<std::size_t>> split_sessions(const std::vector<TrackSpan>& tracks,
                                                     long gap) {
  std::vector<std::size_t> order(tracks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return tracks[a].first < tracks[b].first; });
  std::vector<std::vector<std::size_t>> out;
  long end = 0;
  for (const std::size_t i : order) {
    if (out.empty() || tracks[i].first - end > gap) {
      out.push_back({});
      end = tracks[i].last;
    }
    out.back().push_back(i);
    end = std::max(end, tracks[i].last);
  }
  for (auto& g : out) std::sort(g.begin(), g.end());
  return out;
}

namespace {

// Least-squares velocity (px per frame) of points [from, to); nullopt without two frames.
std::optional<cv::Point2d> fit_velocity(const std::vector<TrackPoint>& p, std::size_t from,
                                        std::size_t to) {
  const double n = double(to - from);
  if (to - from < 2) return std::nullopt;
  double st = 0, sx = 0, sy = 0;
  for (std::size_t i = from; i < to; ++i) st += double(p[i].frame), sx += p[i].x, sy += p[i].y;
  const double mt = st / n;
  double den = 0, nx = 0, ny = 0;
  for (std::size_t i = from; i < to; ++i) {
    const double dt = double(p[i].frame) - mt;
    den += dt * dt, nx += dt * p[i].x, ny += dt * p[i].y;
  }
  if (den <= 0) return std::nullopt;
  return cv::Point2d(nx / den, ny / den);
}

// Group b joins group a (a < b): a keeps its tracks sorted, b is removed.
void merge_groups(std::vector<std::vector<std::size_t>>& groups, std::size_t a, std::size_t b) {
  groups[a].insert(groups[a].end(), groups[b].begin(), groups[b].end());
  std::sort(groups[a].begin(), groups[a].end());
  groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(b));
}

// Two groups of tracks: whether a camera saw tracks of both, and their mean template
// similarity (average linkage).
struct GroupPair {
  bool shared_camera = false;
  double mean_similarity = 0;
};
GroupPair compare_groups(const std::vector<TrackSpan>& tracks,
                         const std::vector<std::vector<float>>& similarity,
                         const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
  GroupPair p;
  double sum = 0;
  for (const std::size_t i : a) {
    for (const std::size_t j : b) {
      p.shared_camera = p.shared_camera || tracks[i].camera == tracks[j].camera;
      sum += similarity[i][j];
    }
  }
  p.mean_similarity = sum / double(a.size() * b.size());
  return p;
}

// The pair (a < b) that are each other's best partner by `score` (higher is better; only
// scores above `floor` count), the highest such pair first; nullopt when there is none.
std::optional<std::pair<std::size_t, std::size_t>> mutual_best_pair(
    const std::vector<std::vector<double>>& score, double floor) {
  const std::size_t m = score.size();
  auto partner = [&](std::size_t a) {
    std::size_t best = m;
    for (std::size_t b = 0; b < m; ++b) {
      if (b != a && score[a][b] > floor && (best == m || score[a][b] > score[a][best])) best = b;
    }
    return best;
  };
  std::optional<std::pair<std::size_t, std::size_t>> out;
  double top = floor;
  for (std::size_t a = 0; a < m; ++a) {
    const std::size_t b = partner(a);
    if (b != m && b > a && partner(b) == a && score[a][b] > top) top = score[a][b], out = {a, b};
  }
  return out;
}

// The first frame any track was seen in (0 without points): the geometry's time origin.
long earliest_frame(const std::vector<TrackSpan>& tracks) {
  std::optional<long> first;
  for (const TrackSpan& t : tracks) {
    if (!t.points.empty() && (!first || t.points.front().frame < *first)) {
      first = t.points.front().frame;
    }
  }
  return first.value_or(0);
}

// Each track's sightings as constraints on one point fixed in the vehicle (the vehicle's speed
// estimated from all tracks), and how much worse two groups fit one such point than each its
// own (chi² growth per sighting). Tracks of cameras without a pose have no constraints; not
// valid when there is no pose or the speed is unknown.
class VehicleFit {
 public:
  VehicleFit(const std::vector<TrackSpan>& tracks, const JoinOptions& options)
      : cons_(tracks.size()) {
    if (options.cameras.empty()) return;
    const long origin = earliest_frame(tracks);
    const auto speed = estimate_speed(tracks, options.cameras, origin, options.geometry);
    if (!speed) return;
    valid_ = true;
    for (std::size_t i = 0; i < tracks.size(); ++i) {
      const auto it = options.cameras.find(tracks[i].camera);
      if (it != options.cameras.end()) {
        cons_[i] = vehicle_constraints(tracks[i], it->second, *speed, origin, options.geometry);
      }
    }
  }
  bool valid() const { return valid_; }
  const std::vector<Constraint>& constraints(std::size_t track) const { return cons_[track]; }
  void gather(const std::vector<std::size_t>& group, std::vector<Constraint>& out) const {
    for (const std::size_t i : group) out.insert(out.end(), cons_[i].begin(), cons_[i].end());
  }
  // nullopt when a group has no posed sighting or a fit fails.
  std::optional<double> growth(const std::vector<std::size_t>& a,
                               const std::vector<std::size_t>& b) const {
    std::vector<Constraint> ca, cb;
    gather(a, ca);
    gather(b, cb);
    if (ca.empty() || cb.empty()) return std::nullopt;
    const auto fa = fit_position(ca), fb = fit_position(cb);
    ca.insert(ca.end(), cb.begin(), cb.end());
    const auto f = fit_position(ca);
    if (!fa || !fb || !f) return std::nullopt;
    return (f->chi2 - fa->chi2 - fb->chi2) / double(f->n);
  }

 private:
  bool valid_ = false;
  std::vector<std::vector<Constraint>> cons_;
};

// A group's mean viewing ray (unit sum of its sightings' ray directions; across travel: its
// Y-Z part) when all its tracks are of one camera; nullopt for a group of several cameras or
// without sightings.
std::optional<cv::Vec3d> single_camera_ray(const std::vector<TrackSpan>& tracks,
                                           const std::vector<std::size_t>& group,
                                           const VehicleFit& vf, bool across_travel) {
  cv::Vec3d sum(0, 0, 0);
  for (const std::size_t i : group) {
    if (tracks[i].camera != tracks[group.front()].camera) return std::nullopt;
    for (const Constraint& c : vf.constraints(i)) sum += c.dir;
  }
  if (across_travel) sum[0] = 0;
  const double n = cv::norm(sum);
  if (n <= 0) return std::nullopt;
  return sum / n;
}

// The geometry pass of join_tracks (JoinOptions::geometry_threshold).
void geometry_pass(const std::vector<TrackSpan>& tracks,
                   const std::vector<std::vector<float>>& similarity, const JoinOptions& options,
                   std::vector<std::vector<std::size_t>>& groups, std::vector<JoinStep>* steps) {
  const VehicleFit vf(tracks, options);
  if (!vf.valid()) return;
  std::vector<bool> posed(tracks.size(), false);
  for (std::size_t i = 0; i < tracks.size(); ++i) posed[i] = !vf.constraints(i).empty();
  for (;;) {
    const std::size_t m = groups.size();
    std::vector<std::optional<double>> alone(m);
    std::vector<bool> usable(m, true);
    for (std::size_t a = 0; a < m; ++a) {
      for (const std::size_t i : groups[a]) usable[a] = usable[a] && posed[i];
      if (!usable[a]) continue;
      std::vector<Constraint> c;
      vf.gather(groups[a], c);
      if (const auto f = fit_position(c)) alone[a] = f->chi2;
    }
    // Groups seen by one camera only: their mean viewing ray (the calibrated rays of their
    // sightings), for geometry_min_angle_deg.
    std::vector<std::optional<cv::Vec3d>> single_ray(m);
    if (options.geometry_min_angle_deg > 0) {
      for (std::size_t a = 0; a < m; ++a) {
        if (!alone[a]) continue;
        single_ray[a] =
            single_camera_ray(tracks, groups[a], vf, options.geometry_angle_across_travel);
      }
    }
    // Minus the growth of the misfit per sighting when a and b are one point (higher is
    // better; -infinity: may not join).
    std::vector<std::vector<double>> fit(
        m, std::vector<double>(m, -std::numeric_limits<double>::infinity()));
    for (std::size_t a = 0; a < m; ++a) {
      if (!alone[a]) continue;
      for (std::size_t b = a + 1; b < m; ++b) {
        if (!alone[b]) continue;
        const GroupPair p = compare_groups(tracks, similarity, groups[a], groups[b]);
        if (p.shared_camera || p.mean_similarity < options.geometry_min_similarity) continue;
        if (single_ray[a] && single_ray[b] &&
            line_angle_deg(*single_ray[a], *single_ray[b]) < options.geometry_min_angle_deg) {
          continue;
        }
        std::vector<Constraint> c;
        vf.gather(groups[a], c);
        vf.gather(groups[b], c);
        const auto f = fit_position(c);
        if (!f) continue;
        const double d = (f->chi2 - *alone[a] - *alone[b]) / double(f->n);
        if (d < options.geometry_threshold) fit[a][b] = fit[b][a] = -std::max(0.0, d);
      }
    }
    const auto pair = mutual_best_pair(fit, -options.geometry_threshold);
    if (!pair) break;
    if (steps) {
      steps->push_back(
          {"geometry", groups[pair->first], groups[pair->second], -fit[pair->first][pair->second]});
    }
    merge_groups(groups, pair->first, pair->second);
  }
}

}  // namespace

std::optional<double> continuation_error(const TrackSpan& a, const TrackSpan& b, std::size_t fit) {
  if (a.camera != b.camera || a.points.empty() || b.points.empty()) return std::nullopt;
  const TrackPoint& end = a.points.back();
  const TrackPoint& start = b.points.front();
  if (end.frame >= start.frame) return std::nullopt;
  auto va =
      fit_velocity(a.points, a.points.size() - std::min(fit, a.points.size()), a.points.size());
  auto vb = fit_velocity(b.points, 0, std::min(fit, b.points.size()));
  if (!va && !vb) return std::nullopt;
  if (!va) va = vb;
  if (!vb) vb = va;
  const double half = double(start.frame - end.frame) / 2;
  const double dx = (end.x + va->x * half) - (start.x - vb->x * half);
  const double dy = (end.y + va->y * half) - (start.y - vb->y * half);
  const double w = std::max(1.0, (double(end.w) + double(start.w)) / 2);
  return std::hypot(dx, dy) / w;
}

std::vector<std::vector<std::size_t>> join_tracks(const std::vector<TrackSpan>& tracks,
                                                  const std::vector<std::vector<float>>& similarity,
                                                  double threshold, double cross_threshold) {
  JoinOptions o;
  o.threshold = threshold;
  o.cross_threshold = cross_threshold;
  return join_tracks(tracks, similarity, o);
}

std::vector<std::vector<std::size_t>> join_tracks(const std::vector<TrackSpan>& tracks,
                                                  const std::vector<std::vector<float>>& similarity,
                                                  const JoinOptions& options,
                                                  std::vector<JoinStep>* steps) {
  const double threshold = options.threshold, cross_threshold = options.cross_threshold;
  const std::size_t n = tracks.size();
  std::vector<std::vector<std::size_t>> groups(n);
  for (std::size_t i = 0; i < n; ++i) groups[i] = {i};
  auto conflict = [&](std::size_t a, std::size_t b) {
    return tracks[a].camera == tracks[b].camera && tracks[a].first <= tracks[b].last &&
           tracks[b].first <= tracks[a].last;
  };
  for (;;) {
    double best = threshold;
    std::size_t ba = n, bb = n;
    for (std::size_t a = 0; a < groups.size(); ++a) {
      for (std::size_t b = a + 1; b < groups.size(); ++b) {
        double sum = 0;
        bool blocked = false;
        for (const std::size_t i : groups[a]) {
          for (const std::size_t j : groups[b]) {
            if (conflict(i, j)) blocked = true;
            sum += similarity[i][j];
          }
        }
        if (blocked) continue;
        const double mean = sum / double(groups[a].size() * groups[b].size());
        if (mean > best) best = mean, ba = a, bb = b;
      }
    }
    if (ba == n) break;
    if (steps) steps->push_back({"template", groups[ba], groups[bb], best});
    merge_groups(groups, ba, bb);
  }
  auto mean_similarity = [&](const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
    return compare_groups(tracks, similarity, a, b).mean_similarity;
  };
  auto blocked = [&](const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
    for (const std::size_t i : a) {
      for (const std::size_t j : b) {
        if (conflict(i, j)) return true;
      }
    }
    return false;
  };
  // Motion pass: one camera's track broken in two (an occlusion, a missed stretch) is joined
  // where one part's path continues into the other's, best continuation first.
  while (options.motion_tolerance > 0) {
    double best = options.motion_tolerance;
    std::size_t ba = n, bb = n;
    for (std::size_t a = 0; a < groups.size(); ++a) {
      for (std::size_t b = 0; b < groups.size(); ++b) {
        if (a == b) continue;
        std::optional<double> err;
        for (const std::size_t i : groups[a]) {
          for (const std::size_t j : groups[b]) {
            const TrackSpan &ti = tracks[i], &tj = tracks[j];
            if (ti.points.empty() || tj.points.empty() ||
                tj.points.front().frame - ti.points.back().frame > options.motion_max_gap) {
              continue;
            }
            const float wa = ti.points.back().w, wb = tj.points.front().w;
            if (std::max(wa, wb) > 1.5f * std::min(wa, wb)) continue;
            const auto e = continuation_error(ti, tj);
            if (e && (!err || *e < *err)) err = e;
          }
        }
        if (!err || *err >= best || blocked(groups[a], groups[b]) ||
            mean_similarity(groups[a], groups[b]) < options.motion_min_similarity) {
          continue;
        }
        best = *err, ba = std::min(a, b), bb = std::max(a, b);
      }
    }
    if (ba == n) break;
    if (steps) steps->push_back({"motion", groups[ba], groups[bb], best});
    merge_groups(groups, ba, bb);
  }
  // Cross-camera pass: mutual best partners among groups with no camera in common (and, with
  // the veto, whose sightings can be one point in the vehicle).
  std::optional<VehicleFit> fit;
  if (options.cross_geometry_veto > 0 && cross_threshold < threshold) {
    fit.emplace(tracks, options);
  }
  auto vetoed = [&](const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
    if (!fit || !fit->valid()) return false;
    const auto g = fit->growth(a, b);
    return g && *g > options.cross_geometry_veto;
  };
  while (cross_threshold < threshold && groups.size() > 1) {
    const std::size_t m = groups.size();
    std::vector<std::vector<double>> mean(m, std::vector<double>(m, -2));
    for (std::size_t a = 0; a < m; ++a) {
      for (std::size_t b = a + 1; b < m; ++b) {
        const GroupPair p = compare_groups(tracks, similarity, groups[a], groups[b]);
        if (!p.shared_camera &&
            !(p.mean_similarity > cross_threshold && vetoed(groups[a], groups[b]))) {
          mean[a][b] = mean[b][a] = p.mean_similarity;
        }
      }
    }
    const auto pair = mutual_best_pair(mean, cross_threshold);
    if (!pair) break;
    if (steps) {
      steps->push_back({"cross_camera", groups[pair->first], groups[pair->second],
                        mean[pair->first][pair->second]});
    }
    merge_groups(groups, pair->first, pair->second);
  }
  if (options.geometry_threshold > 0 && groups.size() > 1) {
    geometry_pass(tracks, similarity, options, groups, steps);
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.front() < b.front(); });
  return groups;
}

namespace {

// A group's sightings as constraints for a vehicle moving `speed` m per frame; nullopt when a
// track's camera has no pose.
std::optional<std::vector<Constraint>> group_constraints(
    const std::vector<TrackSpan>& tracks, const std::vector<std::size_t>& group,
    const std::map<std::string, CameraPose>& cameras, double speed, long origin,
    const GeometryOptions& options) {
  std::vector<Constraint> c;
  for (const std::size_t i : group) {
    const auto it = cameras.find(tracks[i].camera);
    if (it == cameras.end()) return std::nullopt;
    const auto more = vehicle_constraints(tracks[i], it->second, speed, origin, options);
    c.insert(c.end(), more.begin(), more.end());
  }
  return c;
}

}  // namespace

std::vector<std::optional<cv::Vec3d>> vehicle_positions(
    const std::vector<TrackSpan>& tracks, const std::vector<std::vector<std::size_t>>& groups,
    const std::map<std::string, CameraPose>& cameras, const GeometryOptions& options) {
  std::vector<std::optional<cv::Vec3d>> out(groups.size());
  const long origin = earliest_frame(tracks);
  const auto speed = estimate_speed(tracks, cameras, origin, options);
  if (!speed) return out;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto c = group_constraints(tracks, groups[g], cameras, *speed, origin, options);
    if (!c) continue;
    if (const auto fit = fit_position(*c)) out[g] = fit->point;
  }
  return out;
}

std::vector<bool> still_groups(const std::vector<TrackSpan>& tracks,
                               const std::vector<std::vector<std::size_t>>& groups,
                               const std::map<std::string, CameraPose>& cameras,
                               const GeometryOptions& options, double margin) {
  std::vector<bool> still(groups.size(), false);
  const long origin = earliest_frame(tracks);
  const auto speed = estimate_speed(tracks, cameras, origin, options);
  if (!speed) return still;
  // Per track (one camera: an error in its pose shifts every sighting alike, which a fit of
  // that track alone absorbs): misfit per sighting fixed in the world minus fixed in the
  // vehicle.
  auto lead = [&](std::size_t i) -> std::optional<double> {
    const auto in_vehicle = group_constraints(tracks, {i}, cameras, *speed, origin, options);
    const auto in_world = group_constraints(tracks, {i}, cameras, 0.0, origin, options);
    if (!in_vehicle || !in_world || in_vehicle->size() < 3) return std::nullopt;
    const auto v = fit_position(*in_vehicle);
    const auto w = fit_position(*in_world);
    if (!v || !w) return std::nullopt;
    return (w->chi2 - v->chi2) / double(v->n);
  };
  bool moving = false;
  std::vector<bool> candidate(groups.size(), false);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    // Still: every judged track of the group fits the world better (and one is judged).
    bool judged = false, all_still = true;
    for (const std::size_t i : groups[g]) {
      const auto l = lead(i);
      if (!l) continue;
      judged = true;
      all_still = all_still && *l < -margin;
      moving = moving || *l > margin;
    }
    candidate[g] = judged && all_still;
  }
  if (moving) still = candidate;
  return still;
}

int estimate_row(const CameraGeometry& camera, double face_width) {
  const auto& rows = camera.rows;
  if (rows.empty()) return 1;
  for (std::size_t k = 0; k < camera.row_widths.size() && k < rows.size(); ++k) {
    if (face_width >= camera.row_widths[k]) return rows[k];
  }
  return camera.row_widths.empty() ? rows.front() : rows.back();
}

std::vector<std::string> estimate_seats(const std::vector<SeatCue>& occupants, bool driver_right,
                                        double side_ratio, double middle_x) {
  std::vector<std::string> out(occupants.size());
  // Signed offset towards the driver's side in the front camera.
  auto toward_driver = [&](const SeatCue& c) {
    return (c.front_x - c.front_centre) * (driver_right ? 1 : -1);
  };
  auto near_side = [&](const SeatCue& c) -> int {  // +1 driver side, -1 passenger, 0 unknown
    if (c.driver_width > 0 && c.passenger_width > 0) {
      if (c.driver_width > c.passenger_width * side_ratio) return 1;
      if (c.passenger_width > c.driver_width * side_ratio) return -1;
      return 0;
    }
    return 0;
  };
  // Row 1: the front-row face furthest towards the driver's side is the driver when it is on
  // that side of centre; the others are front passengers.
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < occupants.size(); ++i) {
    if (occupants[i].row == 1 && occupants[i].front_x >= 0) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
    return toward_driver(occupants[a]) > toward_driver(occupants[b]);
  });
  for (std::size_t k = 0; k < front.size(); ++k) {
    const SeatCue& c = occupants[front[k]];
    const bool driver = k == 0 && toward_driver(c) > 0;
    out[front[k]] = driver ? "driver" : "front_passenger";
  }
  for (std::size_t i = 0; i < occupants.size(); ++i) {
    const SeatCue& c = occupants[i];
    if (!out[i].empty()) continue;
    const int side = near_side(c);
    if (c.row <= 1) {
      out[i] = side < 0 ? "front_passenger" : "driver";
      continue;
    }
    if (c.front_x >= 0 && std::abs(c.front_x - c.front_centre) <= middle_x) {
      out[i] = "middle";
    } else if (side > 0) {
      out[i] = "left";
    } else if (side < 0) {
      out[i] = "right";
    } else if (c.front_x >= 0) {
      out[i] = toward_driver(c) > 0 ? "left" : "right";
    } else if (c.driver_width > 0 && c.passenger_width == 0) {
      out[i] = "left";
    } else if (c.passenger_width > 0 && c.driver_width == 0) {
      out[i] = "right";
    } else {
      out[i] = "middle";
    }
  }
  return out;
}

std::vector<std::string> estimate_seats_geometric(std::vector<SeatCue>& occupants, double row1_dx,
                                                  double middle_y) {
  std::vector<std::string> out = estimate_seats(occupants);
  std::optional<double> front;
  for (const SeatCue& c : occupants) {
    if (c.position && (!front || (*c.position)[0] > *front)) front = (*c.position)[0];
  }
  if (!front) return out;
  std::vector<std::size_t> row1;
  for (std::size_t i = 0; i < occupants.size(); ++i) {
    SeatCue& c = occupants[i];
    if (!c.position) continue;
    c.row = *front - (*c.position)[0] < row1_dx ? 1 : std::max(2, c.row);
    const double y = (*c.position)[1];
    if (c.row == 1) {
      row1.push_back(i);
    } else {
      out[i] = y > middle_y ? "left" : (y < -middle_y ? "right" : "middle");
    }
  }
  std::sort(row1.begin(), row1.end(), [&](std::size_t a, std::size_t b) {
    return (*occupants[a].position)[1] > (*occupants[b].position)[1];
  });
  for (std::size_t k = 0; k < row1.size(); ++k) {
    out[row1[k]] = k == 0 && (*occupants[row1[k]].position)[1] > 0 ? "driver" : "front_passenger";
  }
  return out;
}

}  // namespace laneface::capture
