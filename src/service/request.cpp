#include "service/request.hpp"

#include <sodium.h>

#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
#include <set>

#include "core/error.hpp"
#include "service/stream_lane.hpp"
#include "store/clock.hpp"

namespace laneface::service {

using Json = nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& message) { throw RequestError(400, message); }

const Json& field(const Json& body, const std::string& name) {
  const auto it = body.find(name);
  if (it == body.end()) bad("field '" + name + "' is missing");
  return *it;
}

std::string text(const Json& body, const std::string& name, std::size_t max_length,
                 bool required = true) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) bad("field '" + name + "' is missing");
    return {};
  }
  if (!it->is_string()) bad("field '" + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_length)
    bad("field '" + name + "' is longer than " + std::to_string(max_length) + " characters");
  if (required && s.empty()) bad("field '" + name + "' must not be empty");
  return s;
}

store::Id id_field(const Json& body, const std::string& name) {
  const Json& v = field(body, name);
  if (!v.is_number_integer()) bad("field '" + name + "' must be an integer id");
  const auto id = v.get<std::int64_t>();
  if (id <= 0) bad("field '" + name + "' must be a positive id");
  return id;
}

std::optional<store::Id> optional_id(const Json& body, const std::string& name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  return id_field(body, name);
}

template <class E>
E enum_field(const Json& body, const std::string& name) {
  const std::string s = text(body, name, 64);
  const auto v = store::parse_enum<E>(s);
  if (!v) bad("field '" + name + "': '" + s + "' is not a known value");
  return *v;
}

const std::string* first(const Params& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

}  // namespace

Json parse_json_body(std::string_view body, std::size_t max_bytes) {
  if (body.size() > max_bytes) {
    throw RequestError(413, "request body of " + std::to_string(body.size()) +
                                " bytes exceeds the limit of " + std::to_string(max_bytes));
  }
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) bad("request body is not valid JSON");
  if (!j.is_object()) bad("request body must be a JSON object");
  return j;
}

LoginRequest parse_login(const Json& body) {
  return {text(body, "user", 128), text(body, "password", 1024)};
}

NewUserRequest parse_new_user(const Json& body) {
  NewUserRequest r{text(body, "name", 64), enum_field<store::UserRole>(body, "role"),
                   text(body, "password", 1024)};
  for (const char c : r.name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      bad("field 'name': only letters, digits, '.', '_' and '-' are allowed");
  }
  if (r.password.size() < 8) bad("field 'password': at least 8 characters are needed");
  return r;
}

DecisionRequest parse_decision(const Json& body) {
  DecisionRequest r;
  r.occupant_id = id_field(body, "occupant_id");
  r.action = text(body, "action", 16);
  if (r.action == "confirm") {
    r.outcome = store::OfficerOutcome::kConfirmed;
  } else if (r.action == "override" || r.action == "reject") {
    r.outcome = store::OfficerOutcome::kRejected;
  } else if (r.action == "refer") {
    r.outcome = store::OfficerOutcome::kReferred;
  } else {
    bad("field 'action': '" + r.action + "' is not one of confirm, override, reject, refer");
  }
  r.subject_id = optional_id(body, "subject_id");
  r.note = text(body, "note", 2000, false);
  return r;
}

capture::VehiclePass parse_vehicle_event(const Json& body) {
  capture::VehiclePass p;
  p.vehicle = text(body, "vehicle", 64);
  p.lane = text(body, "lane", 64);
  p.port = text(body, "port", 64, false);
  if (p.port.empty()) p.port = "DEMO";
  p.direction = text(body, "direction", 16, false);
  if (p.direction.empty()) p.direction = "entry";
  if (!store::parse_enum<store::Direction>(p.direction))
    bad("field 'direction' must be entry or exit");
  p.time = text(body, "time", 40, false);
  if (!p.time.empty() && !store::parse_time(p.time)) bad("field 'time' is not an ISO 8601 time");
  for (const char c : p.vehicle + p.lane) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      bad("fields 'vehicle' and 'lane': only letters, digits, '_' and '-' are allowed");
  }
  const auto docs = body.find("documents");
  if (docs != body.end() && !docs->is_null()) {
    if (!docs->is_array()) bad("field 'documents' must be an array");
    if (docs->size() > 16) bad("field 'documents': at most 16 documents per vehicle");
    for (const auto& d : *docs) {
      if (!d.is_object()) bad("field 'documents': each document must be an object");
      Json clean{{"type", text(d, "type", 32, false)},
                 {"number", text(d, "number", 64)},
                 {"country", text(d, "country", 3, false)}};
      if (clean["type"] == "") clean["type"] = "passport";
      if (!store::parse_enum<store::DocumentType>(clean["type"].get<std::string>()))
        bad("field 'documents': unknown document type");
      p.documents.push_back(std::move(clean));
    }
  }
  return p;
}

StreamLaneRequest parse_stream_lane(const Json& body) {
  StreamLaneRequest r;
  auto name_ok = [](const std::string& v) {
    for (const char c : v) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
    }
    return true;
  };
  r.lane = text(body, "lane", 64);
  if (!name_ok(r.lane)) bad("field 'lane': only letters, digits, '_' and '-' are allowed");
  r.port = text(body, "port", 64, false);
  if (r.port.empty()) r.port = "DEMO";
  r.direction = text(body, "direction", 16, false);
  if (r.direction.empty()) r.direction = "entry";
  if (!store::parse_enum<store::Direction>(r.direction))
    bad("field 'direction' must be entry or exit");
  if (const auto it = body.find("segment_s"); it != body.end() && !it->is_null()) {
    if (!it->is_number()) bad("field 'segment_s' must be a number");
    r.segment_s = it->get<double>();
    if (!(r.segment_s >= 0.2 && r.segment_s <= 600)) bad("field 'segment_s' must be 0.2..600");
  }
  const auto cams = body.find("cameras");
  if (cams == body.end() || !cams->is_array() || cams->empty())
    bad("field 'cameras' must be a non-empty array of {\"id\", \"url\"}");
  if (cams->size() > kMaxStreamCameras)
    bad("field 'cameras': at most " + std::to_string(kMaxStreamCameras) + " cameras");
  std::set<std::string> ids;
  for (const auto& c : *cams) {
    if (!c.is_object()) bad("field 'cameras': each camera must be an object {\"id\", \"url\"}");
    const auto id = text(c, "id", 64);
    if (!name_ok(id)) bad("camera id '" + id + "': only letters, digits, '_' and '-' are allowed");
    if (!ids.insert(id).second) bad("camera id '" + id + "' is given twice");
    const auto url = text(c, "url", 2048);
    try {
      check_stream_url(id, url);
    } catch (const core::Error& e) {
      bad(e.what());
    }
    r.cameras.emplace_back(id, url);
  }
  return r;
}

LaneStartRequest parse_lane_start(const Json& body) {
  LaneStartRequest r;
  auto number = [&](const char* name, double lo, double hi, double& out) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) return;
    if (!it->is_number()) bad(std::string("field '") + name + "' must be a number");
    out = it->get<double>();
    if (!(out >= lo && out <= hi)) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "field '%s' must be %g..%g", name, lo, hi);
      bad(msg);
    }
  };
  number("speed", 0.01, 1000, r.speed);
  number("connect_timeout_s", 0.2, 30, r.connect_timeout_s);
  if (const auto it = body.find("loop"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) bad("field 'loop' must be true or false");
    r.loop = it->get<bool>();
  }
  return r;
}

std::vector<unsigned char> parse_image_field(const Json& body, const std::string& field_name,
                                             std::size_t max_bytes) {
  std::string b64 = text(body, field_name, max_bytes / 3 * 4 + 200);
  if (b64.rfind("data:", 0) == 0) {
    const auto comma = b64.find(',');
    if (comma == std::string::npos) bad("field '" + field_name + "': a data URL without data");
    b64.erase(0, comma + 1);
  }
  std::vector<unsigned char> out(b64.size() / 4 * 3 + 3);
  std::size_t n = 0;
  if (sodium_init() < 0 ||
      sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), " \r\n", &n, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    bad("field '" + field_name + "' is not valid base64");
  }
  out.resize(n);
  if (out.empty()) bad("field '" + field_name + "' holds no image bytes");
  if (out.size() > max_bytes)
    throw RequestError(413, "field '" + field_name + "': image larger than " +
                                std::to_string(max_bytes) + " bytes");
  return out;
}

EnrolRequest parse_enrol(const Json& body, std::size_t max_image_bytes) {
  EnrolRequest r;
  auto& d = r.document;
  d.type = enum_field<store::DocumentType>(body, "type");
  d.number = text(body, "number", 64);
  d.country = text(body, "country", 3);
  d.holder_name = text(body, "name", 200);
  const auto dob = store::parse_date(text(body, "date_of_birth", 10));
  if (!dob) bad("field 'date_of_birth' must be YYYY-MM-DD");
  d.date_of_birth = *dob;
  d.citizenship = enum_field<store::Citizenship>(body, "citizenship");
  const std::string until = text(body, "admitted_until", 10, false);
  if (!until.empty()) {
    d.admitted_until = store::parse_date(until);
    if (!d.admitted_until) bad("field 'admitted_until' must be YYYY-MM-DD");
  }
  r.portrait = parse_image_field(body, "portrait", max_image_bytes);
  return r;
}

std::optional<std::string> string_param(const Params& params, const std::string& name,
                                        std::size_t max_length) {
  const auto* v = first(params, name);
  if (!v || v->empty()) return std::nullopt;
  if (v->size() > max_length) bad("parameter '" + name + "' is too long");
  return *v;
}

std::optional<std::int64_t> int_param(const Params& params, const std::string& name,
                                      std::int64_t min, std::int64_t max) {
  const auto* v = first(params, name);
  if (!v || v->empty()) return std::nullopt;
  std::int64_t x = 0;
  const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || p != v->data() + v->size() || x < min || x > max) {
    bad("parameter '" + name + "' must be an integer from " + std::to_string(min) + " to " +
        std::to_string(max));
  }
  return x;
}

std::optional<store::Date> date_param(const Params& params, const std::string& name) {
  const auto s = string_param(params, name, 10);
  if (!s) return std::nullopt;
  const auto d = store::parse_date(*s);
  if (!d) bad("parameter '" + name + "' must be a date YYYY-MM-DD");
  return d;
}

store::CrossingQuery parse_crossing_query(const Params& params) {
  store::CrossingQuery q;
  auto time = [&](const std::string& name) -> std::optional<store::TimePoint> {
    const auto s = string_param(params, name, 40);
    if (!s) return std::nullopt;
    const auto t = store::parse_time(*s);
    if (!t) bad("parameter '" + name + "' must be an ISO 8601 time or date");
    return t;
  };
  q.from = time("from");
  q.to = time("to");
  q.lane = string_param(params, "lane", 64);
  if (const auto d = string_param(params, "direction", 16)) {
    q.direction = store::parse_enum<store::Direction>(*d);
    if (!q.direction) bad("parameter 'direction' must be entry or exit");
  }
  q.document = string_param(params, "document", 64);
  if (const auto o = string_param(params, "outcome", 32)) {
    if (!store::parse_enum<store::MatchOutcome>(*o) &&
        !store::parse_enum<store::OfficerOutcome>(*o))
      bad("parameter 'outcome' must be matched, not_matched, not_captured, confirmed, rejected "
          "or referred");
    q.outcome = o;
  }
  q.offset = int_param(params, "offset", 0, 1'000'000'000).value_or(0);
  q.limit = int_param(params, "limit", 1, 200).value_or(20);
  return q;
}

store::AuditQuery parse_audit_query(const Params& params) {
  store::AuditQuery q;
  q.after_seq = int_param(params, "after", 0, INT64_MAX).value_or(0);
  q.newest_first = !first(params, "after");
  q.action = string_param(params, "action", 64);
  q.actor = string_param(params, "actor", 64);
  q.limit = int_param(params, "limit", 1, 1000).value_or(100);
  return q;
}

}  // namespace laneface::service
