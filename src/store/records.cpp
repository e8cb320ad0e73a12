#include "store/records.hpp"

#include "store/clock.hpp"

namespace laneface::store {

std::string describe(const DocumentKey& key) {
  return std::string(to_string(key.type)) + " " + key.number + " (" + key.country + ")";
}

nlohmann::json AuditVerification::to_json() const {
  nlohmann::json j{{"ok", ok}, {"entries_checked", entries}};
  if (first_bad_seq) j["first_bad_seq"] = *first_bad_seq;
  if (!problem.empty()) j["problem"] = problem;
  return j;
}

nlohmann::json RetentionReport::to_json() const {
  auto counts = [](const RetentionCounts& c) {
    return nlohmann::json{{"photos", c.photos}, {"templates", c.templates}};
  };
  return {
      {"now", format_time(now)},
      {"deleted", {{"US", counts(us)}, {"non-US", counts(non_us)}, {"unknown", counts(unknown)}}}};
}

nlohmann::json StoreStats::to_json() const {
  return {{"subjects", subjects},
          {"documents", documents},
          {"templates", templates},
          {"crossings", crossings},
          {"occupants", occupants},
          {"photos", photos},
          {"match_decisions", match_decisions},
          {"officer_decisions", officer_decisions},
          {"audit_entries", audit_entries}};
}

}  // namespace laneface::store
