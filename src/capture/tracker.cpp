#include "capture/tracker.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace laneface::capture {

cv::Point2f Track::velocity() const {
  const std::size_t n = observations.size();
  if (n < 2) return {0, 0};
  // Least-squares slope of the centre over frame.
  double st = 0, sx = 0, sy = 0, stt = 0, stx = 0, sty = 0;
  for (const auto& o : observations) {
    const double t = double(o.frame);
    const auto c = o.box.center();
    st += t, sx += c.x, sy += c.y, stt += t * t, stx += t * c.x, sty += t * c.y;
  }
  const double den = n * stt - st * st;
  if (den <= 0) return {0, 0};
  return {float((n * stx - st * sx) / den), float((n * sty - st * sy) / den)};
}

float Track::mean_width() const {
  if (observations.empty()) return 0;
  double w = 0;
  for (const auto& o : observations) w += o.box.width();
  return float(w / observations.size());
}

float histogram_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || b.empty() || a.size() != b.size()) return 0;
  float s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::min(a[i], b[i]);
  return s;
}

Tracker::Tracker(std::string camera, TrackerOptions options)
    : camera_(std::move(camera)), options_(options) {}

namespace {

// Velocity from the last few observations (recent motion), px per frame; nullopt with fewer
// than two observations.
std::optional<cv::Point2f> recent_velocity(const Track& t) {
  const std::size_t n = t.observations.size();
  if (n < 2) return std::nullopt;
  const auto& last = t.observations.back();
  const auto& a = t.observations[n >= 4 ? n - 4 : 0];
  const float dt = float(last.frame - a.frame);
  if (dt <= 0) return std::nullopt;
  return (last.box.center() - a.box.center()) * (1.0f / dt);
}

float median(std::vector<float> v) {
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

core::Box Tracker::predict(const Track& t, long frame, const cv::Point2f* prior) const {
  const auto& last = t.observations.back();
  cv::Point2f v{0, 0};
  if (const auto own = recent_velocity(t)) {
    v = *own;
  } else if (prior) {
    v = *prior * last.box.width();
  }
  const float dt = float(frame - last.frame);
  core::Box b = last.box;
  b.x1 += v.x * dt, b.x2 += v.x * dt, b.y1 += v.y * dt, b.y2 += v.y * dt;
  return b;
}

void Tracker::update(long frame, const std::vector<Detection>& detections) {
  // End tracks that have not been seen for too long.
  std::erase_if(active_,
                [&](std::size_t i) { return frame - tracks_[i].last_frame() > options_.max_gap; });
  // The camera's motion: median velocity (face widths per frame) of the tracks that have one.
  std::optional<cv::Point2f> prior;
  if (options_.motion_prior) {
    std::vector<float> vx, vy;
    for (const std::size_t i : active_) {
      if (const auto v = recent_velocity(tracks_[i])) {
        const float w = std::max(1.0f, tracks_[i].observations.back().box.width());
        vx.push_back(v->x / w), vy.push_back(v->y / w);
      }
    }
    if (!vx.empty()) prior = cv::Point2f(median(vx), median(vy));
  }
  // Score every (track, detection) pair; greedy assignment by score.
  std::vector<std::tuple<float, std::size_t, std::size_t>> pairs;
  for (std::size_t a = 0; a < active_.size(); ++a) {
    const Track& t = tracks_[active_[a]];
    if (options_.single_max_gap > 0 && t.observations.size() == 1 &&
        frame - t.last_frame() > options_.single_max_gap) {
      continue;
    }
    const core::Box p = predict(t, frame, prior ? &*prior : nullptr);
    for (std::size_t d = 0; d < detections.size(); ++d) {
      const core::Box& b = detections[d].box;
      float s = core::iou(p, b);
      if (s < options_.min_iou) {
        // A fast face may not overlap its prediction: accept a close centre of similar size.
        const cv::Point2f dc = p.center() - b.center();
        const float dist = std::hypot(dc.x, dc.y);
        const float ratio = b.width() / std::max(1.0f, p.width());
        if (dist > 0.8f * p.width() || ratio < 0.7f || ratio > 1.4f) continue;
        s = options_.min_iou;
      }
      s +=
          options_.appearance_weight * histogram_similarity(t.appearance, detections[d].appearance);
      pairs.emplace_back(s, a, d);
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) {
    return std::get<0>(x) > std::get<0>(y) ||
           (std::get<0>(x) == std::get<0>(y) &&
            std::tie(std::get<1>(x), std::get<2>(x)) < std::tie(std::get<1>(y), std::get<2>(y)));
  });
  std::vector<bool> track_used(active_.size(), false), det_used(detections.size(), false);
  for (const auto& [s, a, d] : pairs) {
    if (track_used[a] || det_used[d]) continue;
    track_used[a] = det_used[d] = true;
    Track& t = tracks_[active_[a]];
    const Detection& det = detections[d];
    t.observations.push_back({frame, det.box, det.score, det.payload});
    if (!det.appearance.empty()) {
      if (t.appearance.size() != det.appearance.size()) {
        t.appearance = det.appearance;
      } else {
        for (std::size_t i = 0; i < t.appearance.size(); ++i) {
          t.appearance[i] = 0.7f * t.appearance[i] + 0.3f * det.appearance[i];
        }
      }
    }
  }
  for (std::size_t d = 0; d < detections.size(); ++d) {
    if (det_used[d]) continue;
    Track t;
    t.id = next_id_++;
    t.camera = camera_;
    t.observations.push_back(
        {frame, detections[d].box, detections[d].score, detections[d].payload});
    t.appearance = detections[d].appearance;
    tracks_.push_back(std::move(t));
    active_.push_back(tracks_.size() - 1);
  }
}

std::vector<Track> Tracker::finish() {
  std::vector<Track> out = std::move(tracks_);
  tracks_.clear();
  active_.clear();
  return out;
}

}  // namespace laneface::capture
