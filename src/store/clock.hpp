#pragma once
// Time for the store: an injectable clock, and ISO 8601 text for dates and instants (UTC).
#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "store/records.hpp"

namespace laneface::store {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(ms_.load())); }
  void set(TimePoint t) { ms_ = t.time_since_epoch().count(); }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }

 private:
  std::atomic<std::int64_t> ms_;
};

// "YYYY-MM-DD"; nullopt unless the text is exactly that and a real calendar date.
std::optional<Date> parse_date(std::string_view text);
std::string format_date(Date date);

// "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with an optional "Z" or "+HH:MM"/"-HH:MM"
// offset (none = UTC); nullopt when malformed.
std::optional<TimePoint> parse_time(std::string_view text);
// "YYYY-MM-DDTHH:MM:SS.fffZ"
std::string format_time(TimePoint t);

}  // namespace laneface::store
