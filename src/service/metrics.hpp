#pragma once
// Service metrics in the Prometheus text format (version 0.0.4), and per-minute series for
// the console's capture-rate and latency charts. Thread-safe.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/clock.hpp"

namespace laneface::service {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Lines "<name>_bucket{le=...} n", _sum, _count (labels: extra, e.g. `code="200"`).
  std::string render(const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  explicit Metrics(std::shared_ptr<const store::Clock> clock);

  // One processed vehicle: frames read, occupants captured / not, latency, match outcomes.
  void vehicle(std::int64_t frames, std::int64_t captured, std::int64_t not_captured,
               double latency_s, const std::vector<std::string>& match_outcomes);
  void processing_error();
  void officer_decision(const std::string& outcome);
  void http(int status, double seconds);
  void set_queue_depth(std::int64_t depth);
  void set_sse_clients(std::int64_t n);

  std::string prometheus() const;
  // The last `minutes` per-minute buckets: vehicles, occupants, captured, capture_rate,
  // latency_ms_mean, latency_ms_max, frames_per_s.
  nlohmann::json series(int minutes) const;

 private:
  struct Minute {
    std::int64_t minute = 0;  // minutes since the epoch
    std::int64_t vehicles = 0, occupants = 0, captured = 0, frames = 0;
    double latency_sum = 0, latency_max = 0;
  };
  Minute& minute_locked();

  std::shared_ptr<const store::Clock> clock_;
  mutable std::mutex mutex_;
  std::int64_t vehicles_ = 0, frames_ = 0, captured_ = 0, not_captured_ = 0, errors_ = 0;
  std::int64_t queue_depth_ = 0, sse_clients_ = 0;
  std::map<std::string, std::int64_t> match_outcomes_, officer_outcomes_, http_codes_;
  Histogram latency_;
  Histogram http_latency_;
  std::vector<Minute> minutes_;  // ring, last 24 h
  store::TimePoint started_;
};

}  // namespace laneface::service
