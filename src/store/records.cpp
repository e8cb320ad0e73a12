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

nlohmann::json to_json(const CrossingRecord& record) {
  using nlohmann::json;
  auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json occupants = json::array();
  for (const auto& o : record.occupants) {
    json j{{"occupant_id", o.occupant.id},
           {"row", o.occupant.row},
           {"seat", o.occupant.seat},
           {"capture", to_string(o.occupant.capture)},
           {"subject_id", opt(o.occupant.subject_id)},
           {"photo_ids", o.photo_ids},
           {"match", nullptr},
           {"document", nullptr}};
    if (o.match) {
      j["match"] = {{"decision_id", o.match->id},
                    {"outcome", to_string(o.match->outcome)},
                    {"subject_id", opt(o.match->subject_id)},
                    {"document_id", opt(o.match->document_id)},
                    {"score", opt(o.match->score)},
                    {"threshold", opt(o.match->threshold)},
                    {"gallery", o.match->gallery ? json(to_string(*o.match->gallery)) : json()},
                    {"model_id", o.match->model_id}};
    }
    if (o.document) {
      j["document"] = {{"document_id", o.document->id},
                       {"type", to_string(o.document->type)},
                       {"number", o.document->number},
                       {"country", o.document->country},
                       {"holder_name", o.document->holder_name},
                       {"citizenship", to_string(o.document->citizenship)}};
    }
    json decisions = json::array();
    for (const auto& d : o.officer_decisions) {
      decisions.push_back({{"decision_id", d.id},
                           {"officer", d.officer},
                           {"outcome", to_string(d.outcome)},
                           {"subject_id", opt(d.subject_id)},
                           {"note", d.note}});
    }
    j["officer_decisions"] = std::move(decisions);
    occupants.push_back(std::move(j));
  }
  const Crossing& c = record.crossing;
  return {{"crossing_id", c.id},
          {"lane", c.lane},
          {"port", c.port},
          {"direction", to_string(c.direction)},
          {"time", format_time(c.time)},
          {"occupants", std::move(occupants)}};
}

}  // namespace laneface::store
