#include "ledger/ledger.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "core/error.hpp"

namespace laneface::ledger {

namespace {

using Json = nlohmann::json;
using store::Passage;
using store::TimePoint;

TimePoint start_of(Date day) { return TimePoint(std::chrono::sys_days(day)); }
TimePoint end_of(Date day) {
  return start_of(Date(std::chrono::sys_days(day) + std::chrono::days(1)));
}

Json date_json(const std::optional<Date>& d) { return d ? Json(store::format_date(*d)) : Json(); }

Json passage_json(const Passage& p) {
  return {{"crossing_id", p.crossing_id},
          {"occupant_id", p.occupant_id},
          {"subject_id", p.subject_id},
          {"time", store::format_time(p.time)},
          {"port", p.port},
          {"lane", p.lane},
          {"biometric", p.biometric}};
}

// One CSV record: fields quoted when they hold a comma, quote or line break.
std::string csv_line(std::initializer_list<std::string> fields) {
  std::string out;
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out += ',';
    first = false;
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += '"';
  }
  return out + '\n';
}

}  // namespace

std::vector<Stay> link_stays(std::span<const Passage> passages) {
  std::vector<const Passage*> by_subject;
  for (const auto& p : passages) by_subject.push_back(&p);
  std::stable_sort(by_subject.begin(), by_subject.end(), [](const Passage* a, const Passage* b) {
    return a->subject_id < b->subject_id;
  });
  std::vector<Stay> stays;
  std::optional<Stay> open;
  auto close = [&] {
    if (open) stays.push_back(std::move(*open));
    open.reset();
  };
  for (const Passage* p : by_subject) {
    if (open && open->subject_id != p->subject_id) close();
    if (p->direction == store::Direction::kEntry) {
      close();
      open = Stay{p->subject_id, *p, std::nullopt};
    } else if (open) {
      open->exit = *p;
      close();
    } else {
      stays.push_back({p->subject_id, std::nullopt, *p});
    }
  }
  close();
  return stays;
}

std::int64_t DeparturesReport::total() const {
  std::int64_t n = 0;
  for (const auto& r : rows) n += r.departures;
  return n;
}

Ledger::Ledger(store::Store& store, std::string actor) : store_(store), actor_(std::move(actor)) {}

DeparturesReport Ledger::departures(Date from, Date to) const {
  if (!from.ok() || !to.ok() || std::chrono::sys_days(from) > std::chrono::sys_days(to)) {
    throw core::Error(core::ErrorKind::kInvalidInput, "departures report: from " +
                                                          store::format_date(from) +
                                                          " is after to " + store::format_date(to));
  }
  std::map<std::pair<std::chrono::sys_days, std::string>, std::int64_t> counts;
  for (const auto& p : store_.passages(start_of(from), end_of(to))) {
    if (p.direction == store::Direction::kExit && p.biometric) {
      ++counts[{std::chrono::floor<std::chrono::days>(p.time), p.port}];
    }
  }
  DeparturesReport report{from, to, {}};
  for (const auto& [key, n] : counts) report.rows.push_back({Date(key.first), key.second, n});
  audit("departures", {{"from", store::format_date(from)},
                       {"to", store::format_date(to)},
                       {"rows", report.rows.size()},
                       {"departures", report.total()}});
  return report;
}

OverstaysReport Ledger::overstays(Date as_of) const {
  // The governing admission per non-US subject: the latest admitted-until of its documents.
  std::map<store::Id, const store::Document*> admission;
  std::set<store::Id> us;
  const auto documents = store_.admission_documents();
  for (const auto& d : documents) {
    if (d.citizenship == store::Citizenship::kUs) us.insert(d.subject_id);
    if (!d.admitted_until) continue;
    auto& best = admission[d.subject_id];
    if (!best ||
        std::chrono::sys_days(*d.admitted_until) > std::chrono::sys_days(*best->admitted_until)) {
      best = &d;
    }
  }
  // Each subject's last stay up to the end of as_of.
  const auto passages = store_.passages(TimePoint::min(), end_of(as_of));
  std::map<store::Id, Stay> last;
  for (auto& s : link_stays(passages)) last[s.subject_id] = std::move(s);

  OverstaysReport report{as_of, {}};
  for (const auto& [subject, doc] : admission) {
    const Date until = *doc->admitted_until;
    if (us.count(subject)) continue;
    if (std::chrono::sys_days(until) >= std::chrono::sys_days(as_of)) continue;
    const auto it = last.find(subject);
    const Stay* stay = it == last.end() ? nullptr : &it->second;
    if (stay && stay->exit && stay->exit->biometric) continue;  // departure confirmed
    report.rows.push_back({subject, doc->key(), until,
                           (std::chrono::sys_days(as_of) - std::chrono::sys_days(until)).count(),
                           stay ? stay->entry : std::nullopt});
  }
  audit("overstays", {{"as_of", store::format_date(as_of)}, {"rows", report.rows.size()}});
  return report;
}

UnmatchedExitsReport Ledger::unmatched_exits(std::optional<Date> from,
                                             std::optional<Date> to) const {
  if (from && to && std::chrono::sys_days(*from) > std::chrono::sys_days(*to)) {
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "unmatched exits report: from " + store::format_date(*from) +
                          " is after to " + store::format_date(*to));
  }
  // Entries before `from` matter: read from the beginning.
  const auto passages = store_.passages(TimePoint::min(), to ? end_of(*to) : TimePoint::max());
  UnmatchedExitsReport report{from, to, {}};
  for (const auto& s : link_stays(passages)) {
    if (!s.entry && s.exit && (!from || s.exit->time >= start_of(*from))) {
      report.rows.push_back(*s.exit);
    }
  }
  std::sort(report.rows.begin(), report.rows.end(), [](const Passage& a, const Passage& b) {
    return std::tie(a.time, a.crossing_id, a.occupant_id) <
           std::tie(b.time, b.crossing_id, b.occupant_id);
  });
  audit("unmatched_exits",
        {{"from", date_json(from)}, {"to", date_json(to)}, {"rows", report.rows.size()}});
  return report;
}

void Ledger::audit(const std::string& report, nlohmann::json details) const {
  details["report"] = report;
  store_.record_event({actor_, "export", "report:" + report, std::move(details)});
}

Json to_json(const DeparturesReport& report) {
  Json rows = Json::array();
  for (const auto& r : report.rows) {
    rows.push_back(
        {{"day", store::format_date(r.day)}, {"port", r.port}, {"departures", r.departures}});
  }
  return {{"report", "departures"},
          {"from", store::format_date(report.from)},
          {"to", store::format_date(report.to)},
          {"total", report.total()},
          {"rows", rows}};
}

Json to_json(const OverstaysReport& report) {
  Json rows = Json::array();
  for (const auto& r : report.rows) {
    rows.push_back({{"subject_id", r.subject_id},
                    {"document",
                     {{"type", store::to_string(r.document.type)},
                      {"number", r.document.number},
                      {"country", r.document.country}}},
                    {"admitted_until", store::format_date(r.admitted_until)},
                    {"days_over", r.days_over},
                    {"last_entry", r.last_entry ? passage_json(*r.last_entry) : Json()}});
  }
  return {{"report", "overstays"},
          {"as_of", store::format_date(report.as_of)},
          {"total", report.rows.size()},
          {"rows", rows}};
}

Json to_json(const UnmatchedExitsReport& report) {
  Json rows = Json::array();
  for (const auto& p : report.rows) rows.push_back(passage_json(p));
  return {{"report", "unmatched_exits"},
          {"from", date_json(report.from)},
          {"to", date_json(report.to)},
          {"total", report.rows.size()},
          {"rows", rows}};
}

std::string to_csv(const DeparturesReport& report) {
  std::string out = csv_line({"day", "port", "departures"});
  for (const auto& r : report.rows) {
    out += csv_line({store::format_date(r.day), r.port, std::to_string(r.departures)});
  }
  return out;
}

std::string to_csv(const OverstaysReport& report) {
  std::string out = csv_line({"subject_id", "document_type", "document_number", "document_country",
                              "admitted_until", "days_over", "last_entry_time", "last_entry_port"});
  for (const auto& r : report.rows) {
    out += csv_line({std::to_string(r.subject_id), std::string(store::to_string(r.document.type)),
                     r.document.number, r.document.country, store::format_date(r.admitted_until),
                     std::to_string(r.days_over),
                     r.last_entry ? store::format_time(r.last_entry->time) : "",
                     r.last_entry ? r.last_entry->port : ""});
  }
  return out;
}

std::string to_csv(const UnmatchedExitsReport& report) {
  std::string out =
      csv_line({"time", "port", "lane", "crossing_id", "occupant_id", "subject_id", "biometric"});
  for (const auto& p : report.rows) {
    out += csv_line({store::format_time(p.time), p.port, p.lane, std::to_string(p.crossing_id),
                     std::to_string(p.occupant_id), std::to_string(p.subject_id),
                     p.biometric ? "true" : "false"});
  }
  return out;
}

}  // namespace laneface::ledger
