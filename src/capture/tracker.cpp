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

core::Box Tracker::predict(const Track& t, long frame) const {
  const auto& last = t.observations.back();
  // Velocity from the last few observations (recent motion).
  cv::Point2f v{0, 0};
  const std::size_t n = t.observations.size();
  if (n >= 2) {
    const auto& a = t.observations[n >= 4 ? n - 4 : 0];
    const float dt = float(last.frame - a.frame);
    if (dt > 0) {
      v = (last.box.center() - a.box.center()) * (1.0f / dt);
    }
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
  // Score every (track, detection) pair; greedy assignment by score.
  std::vector<std::tuple<float, std::size_t, std::size_t>> pairs;
  for (std::size_t a = 0; a < active_.size(); ++a) {
    const Track& t = tracks_[active_[a]];
    const core::Box p = predict(t, frame);
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
