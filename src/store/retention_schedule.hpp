#pragma once
// Retention in-process: runs Store::run_retention every `interval` of the injected clock, so
// a long-running process (the service, a lane) purges without an external cron. Purged
// template ids go to a callback, which drops them from in-memory search indexes.
//
//   RetentionSchedule schedule(store, clock, std::chrono::minutes(10), "retention schedule",
//                              [&](const RetentionReport& r) { drop from galleries });
//   schedule.start();   // a thread that calls tick() about once a second of real time
//
// tick() runs retention when the clock has reached the next due time (the first tick runs at
// once), so a test drives it with a FakeClock and no thread.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/clock.hpp"
#include "store/store.hpp"

namespace laneface::store {

class RetentionSchedule {
 public:
  using OnPurge = std::function<void(const RetentionReport&)>;

  // The store must outlive the schedule. Throws core::Error(kInvalidInput) for a
  // non-positive interval or a null clock.
  RetentionSchedule(Store& store, std::shared_ptr<const Clock> clock,
                    std::chrono::milliseconds interval, std::string actor, OnPurge on_purge = {});
  ~RetentionSchedule();  // stops the thread
  RetentionSchedule(const RetentionSchedule&) = delete;
  RetentionSchedule& operator=(const RetentionSchedule&) = delete;

  // Runs retention as of clock->now() when due; returns its report, or nullopt when not due.
  // Errors of the store propagate (the next due time is still advanced).
  std::optional<RetentionReport> tick();
  TimePoint next_due() const;

  // A background thread calling tick() every `poll` of real time until stop(). Errors are
  // kept (last_error) and printed to stderr without data; the schedule keeps running.
  void start(std::chrono::milliseconds poll = std::chrono::seconds(1));
  void stop();
  std::optional<std::string> last_error() const;
  std::size_t runs() const;

 private:
  Store& store_;
  std::shared_ptr<const Clock> clock_;
  std::chrono::milliseconds interval_;
  std::string actor_;
  OnPurge on_purge_;

  mutable std::mutex mutex_;  // guards the fields below; tick() runs under tick_mutex_
  std::mutex tick_mutex_;
  std::optional<TimePoint> next_due_;  // nullopt: due now
  std::optional<std::string> last_error_;
  std::size_t runs_ = 0;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace laneface::store
