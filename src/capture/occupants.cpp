#include "capture/occupants.hpp"

#include <algorithm>
#include <numeric>

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

std::vector<std::vector<std::size_t>> join_tracks(const std::vector<TrackSpan>& tracks,
                                                  const std::vector<std::vector<float>>& similarity,
                                                  double threshold) {
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
    groups[ba].insert(groups[ba].end(), groups[bb].begin(), groups[bb].end());
    std::sort(groups[ba].begin(), groups[ba].end());
    groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(bb));
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.front() < b.front(); });
  return groups;
}

int estimate_row(const CameraGeometry& camera, double face_width) {
  const auto& rows = camera.rows;
  if (rows.empty()) return 1;
  for (std::size_t k = 0; k < camera.row_widths.size() && k < rows.size(); ++k) {
    if (face_width >= camera.row_widths[k]) return rows[k];
  }
  return camera.row_widths.empty() ? rows.front() : rows.back();
}

}  // namespace laneface::capture
