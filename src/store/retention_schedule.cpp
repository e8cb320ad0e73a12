#include "store/retention_schedule.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace laneface::store {

RetentionSchedule::RetentionSchedule(Store& store, std::shared_ptr<const Clock> clock,
                                     std::chrono::milliseconds interval, std::string actor,
                                     OnPurge on_purge)
    : store_(store),
      clock_(std::move(clock)),
      interval_(interval),
      actor_(std::move(actor)),
      on_purge_(std::move(on_purge)) {
  if (!clock_) throw core::Error(core::ErrorKind::kInvalidInput, "retention schedule: no clock");
  if (interval_.count() <= 0) {
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "retention schedule: the interval must be positive, got " +
                          std::to_string(interval_.count()) + " ms");
  }
}

RetentionSchedule::~RetentionSchedule() { stop(); }

std::optional<RetentionReport> RetentionSchedule::tick() {
  std::lock_guard tick_lock(tick_mutex_);
  const TimePoint now = clock_->now();
  {
    std::lock_guard lock(mutex_);
    if (next_due_ && now < *next_due_) return std::nullopt;
    next_due_ = now + interval_;
  }
  RetentionReport report = store_.run_retention(now, actor_);
  if (on_purge_) on_purge_(report);
  std::lock_guard lock(mutex_);
  ++runs_;
  last_error_.reset();
  return report;
}

TimePoint RetentionSchedule::next_due() const {
  std::lock_guard lock(mutex_);
  return next_due_.value_or(clock_->now());
}

void RetentionSchedule::start(std::chrono::milliseconds poll) {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, poll] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        tick();
      } catch (const std::exception& e) {
        std::lock_guard l(mutex_);
        last_error_ = e.what();
        std::fprintf(stderr, "retention schedule: %s\n", e.what());
      }
      lock.lock();
      wake_.wait_for(lock, poll, [this] { return stopping_; });
    }
  });
}

void RetentionSchedule::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::string> RetentionSchedule::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::size_t RetentionSchedule::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

}  // namespace laneface::store
