#include "store/clock.hpp"

#include <cstdio>

namespace laneface::store {

namespace {

// Reads exactly `n` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view s, std::size_t& pos, int n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

std::optional<Date> date_at(std::string_view s, std::size_t& pos) {
  const auto y = digits(s, pos, 4);
  if (!y || !expect(s, pos, '-')) return std::nullopt;
  const auto m = digits(s, pos, 2);
  if (!m || !expect(s, pos, '-')) return std::nullopt;
  const auto d = digits(s, pos, 2);
  if (!d) return std::nullopt;
  const Date date{std::chrono::year(*y), std::chrono::month(*m), std::chrono::day(*d)};
  if (!date.ok()) return std::nullopt;
  return date;
}

}  // namespace

TimePoint SystemClock::now() const {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::optional<Date> parse_date(std::string_view text) {
  std::size_t pos = 0;
  auto date = date_at(text, pos);
  if (pos != text.size()) return std::nullopt;
  return date;
}

std::string format_date(Date date) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buf;
}

std::optional<TimePoint> parse_time(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const auto date = date_at(s, pos);
  if (!date) return std::nullopt;
  milliseconds t = sys_days(*date).time_since_epoch();
  if (pos == s.size()) return TimePoint(t);
  if (!expect(s, pos, 'T') && !expect(s, pos, ' ')) return std::nullopt;
  const auto hh = digits(s, pos, 2);
  if (!hh || *hh > 23 || !expect(s, pos, ':')) return std::nullopt;
  const auto mm = digits(s, pos, 2);
  if (!mm || *mm > 59) return std::nullopt;
  t += hours(*hh) + minutes(*mm);
  if (expect(s, pos, ':')) {
    const auto ss = digits(s, pos, 2);
    if (!ss || *ss > 60) return std::nullopt;
    t += seconds(*ss);
    if (expect(s, pos, '.')) {
      int scale = 100, ms = 0, n = 0;
      for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n, scale /= 10) {
        ms += (s[pos] - '0') * scale;
      }
      if (n == 0) return std::nullopt;
      t += milliseconds(ms);
    }
  }
  if (pos == s.size()) return TimePoint(t);
  if (expect(s, pos, 'Z')) return pos == s.size() ? std::optional(TimePoint(t)) : std::nullopt;
  const char sign = s[pos++];
  if (sign != '+' && sign != '-') return std::nullopt;
  const auto oh = digits(s, pos, 2);
  if (!oh || !expect(s, pos, ':')) return std::nullopt;
  const auto om = digits(s, pos, 2);
  if (!om || pos != s.size()) return std::nullopt;
  const minutes offset = hours(*oh) + minutes(*om);
  return TimePoint(sign == '+' ? t - offset : t + offset);
}

std::string format_time(TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const hh_mm_ss hms(t - day);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%03dZ", format_date(Date(day)).c_str(),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace laneface::store
