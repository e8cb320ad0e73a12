#include "service/metrics.hpp"

#include <algorithm>
#include <sstream>

namespace laneface::service {

namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

constexpr std::size_t kMinutes = 24 * 60;

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[static_cast<std::size_t>(i)];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + num(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
  return out;
}

Metrics::Metrics(std::shared_ptr<const store::Clock> clock)
    : clock_(std::move(clock)),
      latency_({0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16}),
      http_latency_({0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}),
      minutes_(kMinutes),
      started_(clock_->now()) {}

Metrics::Minute& Metrics::minute_locked() {
  const auto m =
      std::chrono::duration_cast<std::chrono::minutes>(clock_->now().time_since_epoch()).count();
  Minute& slot = minutes_[static_cast<std::size_t>(m) % kMinutes];
  if (slot.minute != m) slot = Minute{m};
  return slot;
}

void Metrics::vehicle(std::int64_t frames, std::int64_t captured, std::int64_t not_captured,
                      double latency_s, const std::vector<std::string>& match_outcomes) {
  std::lock_guard lock(mutex_);
  ++vehicles_;
  frames_ += frames;
  captured_ += captured;
  not_captured_ += not_captured;
  latency_.observe(latency_s);
  for (const auto& o : match_outcomes) ++match_outcomes_[o];
  Minute& m = minute_locked();
  ++m.vehicles;
  m.occupants += captured + not_captured;
  m.captured += captured;
  m.frames += frames;
  m.latency_sum += latency_s;
  m.latency_max = std::max(m.latency_max, latency_s);
}

void Metrics::processing_error() {
  std::lock_guard lock(mutex_);
  ++errors_;
}

void Metrics::officer_decision(const std::string& outcome) {
  std::lock_guard lock(mutex_);
  ++officer_outcomes_[outcome];
}

void Metrics::http(int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++http_codes_[std::to_string(status)];
  http_latency_.observe(seconds);
}

void Metrics::set_queue_depth(std::int64_t depth) {
  std::lock_guard lock(mutex_);
  queue_depth_ = depth;
}

void Metrics::set_sse_clients(std::int64_t n) {
  std::lock_guard lock(mutex_);
  sse_clients_ = n;
}

std::string Metrics::prometheus() const {
  std::lock_guard lock(mutex_);
  std::string o;
  auto metric = [&](const std::string& name, const std::string& type, const std::string& help) {
    o += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  metric("laneface_vehicles_processed_total", "counter", "Vehicle passes processed.");
  o += "laneface_vehicles_processed_total " + std::to_string(vehicles_) + "\n";
  metric("laneface_processing_errors_total", "counter", "Vehicle passes that failed.");
  o += "laneface_processing_errors_total " + std::to_string(errors_) + "\n";
  metric("laneface_frames_processed_total", "counter", "Camera frames read by the lane pipeline.");
  o += "laneface_frames_processed_total " + std::to_string(frames_) + "\n";
  // frames/s over the last full minutes (Prometheus users take rate() of the counter).
  std::int64_t recent_frames = 0;
  const auto now_min =
      std::chrono::duration_cast<std::chrono::minutes>(clock_->now().time_since_epoch()).count();
  for (const auto& m : minutes_)
    if (m.minute > now_min - 5 && m.minute <= now_min) recent_frames += m.frames;
  metric("laneface_frames_per_second", "gauge", "Frames processed per second, last 5 minutes.");
  o += "laneface_frames_per_second " + num(static_cast<double>(recent_frames) / 300.0) + "\n";
  metric("laneface_occupants_total", "counter", "Occupants seen, by capture status.");
  o += "laneface_occupants_total{status=\"captured\"} " + std::to_string(captured_) + "\n";
  o += "laneface_occupants_total{status=\"not_captured\"} " + std::to_string(not_captured_) + "\n";
  metric("laneface_capture_rate", "gauge", "Captured occupants / all occupants since start.");
  const auto all = captured_ + not_captured_;
  o += "laneface_capture_rate " +
       num(all ? static_cast<double>(captured_) / static_cast<double>(all) : 0.0) + "\n";
  metric("laneface_queue_depth", "gauge", "Vehicle passes waiting to be processed.");
  o += "laneface_queue_depth " + std::to_string(queue_depth_) + "\n";
  metric("laneface_sse_clients", "gauge", "Connected server-sent-event clients.");
  o += "laneface_sse_clients " + std::to_string(sse_clients_) + "\n";
  metric("laneface_vehicle_latency_seconds", "histogram",
         "Time from a vehicle's last frame to its decisions.");
  o += latency_.render("laneface_vehicle_latency_seconds");
  metric("laneface_match_decisions_total", "counter", "Match decisions by outcome.");
  for (const auto& [k, v] : match_outcomes_)
    o += "laneface_match_decisions_total{outcome=\"" + k + "\"} " + std::to_string(v) + "\n";
  metric("laneface_officer_decisions_total", "counter", "Officer decisions by outcome.");
  for (const auto& [k, v] : officer_outcomes_)
    o += "laneface_officer_decisions_total{outcome=\"" + k + "\"} " + std::to_string(v) + "\n";
  metric("laneface_http_requests_total", "counter", "HTTP requests by status code.");
  for (const auto& [k, v] : http_codes_)
    o += "laneface_http_requests_total{code=\"" + k + "\"} " + std::to_string(v) + "\n";
  metric("laneface_http_request_duration_seconds", "histogram", "HTTP request handling time.");
  o += http_latency_.render("laneface_http_request_duration_seconds");
  metric("laneface_uptime_seconds", "gauge", "Seconds since the service started.");
  o += "laneface_uptime_seconds " +
       num(std::chrono::duration<double>(clock_->now() - started_).count()) + "\n";
  return o;
}

nlohmann::json Metrics::series(int minutes) const {
  std::lock_guard lock(mutex_);
  const auto now_min =
      std::chrono::duration_cast<std::chrono::minutes>(clock_->now().time_since_epoch()).count();
  nlohmann::json out = nlohmann::json::array();
  for (std::int64_t m = now_min - minutes + 1; m <= now_min; ++m) {
    const Minute& slot = minutes_[static_cast<std::size_t>(m) % kMinutes];
    if (slot.minute != m || slot.vehicles == 0) continue;
    out.push_back(
        {{"time", store::format_time(store::TimePoint(std::chrono::minutes(m)))},
         {"vehicles", slot.vehicles},
         {"occupants", slot.occupants},
         {"captured", slot.captured},
         {"capture_rate",
          slot.occupants ? static_cast<double>(slot.captured) / static_cast<double>(slot.occupants)
                         : 0.0},
         {"latency_ms_mean", 1000.0 * slot.latency_sum / static_cast<double>(slot.vehicles)},
         {"latency_ms_max", 1000.0 * slot.latency_max},
         {"frames_per_s", static_cast<double>(slot.frames) / 60.0}});
  }
  return out;
}

}  // namespace laneface::service
