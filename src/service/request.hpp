#pragma once
// Parsing of the service's requests: JSON bodies and query strings into typed values. All
// outside input of the API passes through here; anything malformed, of the wrong type, out of
// range or too large is a RequestError with an HTTP status (4xx) and a message naming the
// field, never a crash. Fuzzed by tests/fuzz/fuzz_service_request.cpp.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "capture/lane_processor.hpp"
#include "store/records.hpp"

namespace laneface::service {

class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// A JSON object from a request body; 413 above max_bytes, 400 when not a JSON object.
nlohmann::json parse_json_body(std::string_view body, std::size_t max_bytes);

struct LoginRequest {
  std::string user;
  std::string password;
};
LoginRequest parse_login(const nlohmann::json& body);

struct NewUserRequest {
  std::string name;
  store::UserRole role = store::UserRole::kOfficer;
  std::string password;
};
NewUserRequest parse_new_user(const nlohmann::json& body);

// confirm | override | reject | refer, for one occupant.
struct DecisionRequest {
  store::Id occupant_id = 0;
  store::OfficerOutcome outcome = store::OfficerOutcome::kReferred;
  std::string action;  // as sent
  std::optional<store::Id> subject_id;
  std::string note;
};
DecisionRequest parse_decision(const nlohmann::json& body);

// The sensor event of a submitted vehicle pass (docs/lane-format.md, event.json). Camera
// sources are not taken from the body: they come from uploaded files.
capture::VehiclePass parse_vehicle_event(const nlohmann::json& body);

// A live lane whose cameras are stream URLs: {"lane", "port"?, "direction"?, "segment_s"?
// (0.2..600, default 10), "cameras": [{"id", "url"}] (1..8)}. URLs are checked for their form
// here (scheme rtsp/rtsps/http/https, a host); reaching them is checked at start.
struct StreamLaneRequest {
  std::string lane, port, direction;
  double segment_s = 10;
  std::vector<std::pair<std::string, std::string>> cameras;  // id, URL
};
StreamLaneRequest parse_stream_lane(const nlohmann::json& body);

// {"speed"?, "loop"?, "connect_timeout_s"?} of POST /api/lanes/{lane}/start.
struct LaneStartRequest {
  double speed = 1;
  bool loop = false;
  double connect_timeout_s = 5;  // stream lanes: 0.2..30 per camera
};
LaneStartRequest parse_lane_start(const nlohmann::json& body);

// A document to enrol plus its portrait (base64 in "portrait").
struct EnrolRequest {
  store::Document document;
  std::vector<unsigned char> portrait;
};
EnrolRequest parse_enrol(const nlohmann::json& body, std::size_t max_image_bytes);

// Decodes a base64 image field (an optional "data:image/...;base64," prefix is allowed).
std::vector<unsigned char> parse_image_field(const nlohmann::json& body, const std::string& field,
                                             std::size_t max_bytes);

using Params = std::multimap<std::string, std::string>;

// ?from=&to=&lane=&direction=&document=&outcome=&offset=&limit= (times ISO 8601 UTC).
store::CrossingQuery parse_crossing_query(const Params& params);
store::AuditQuery parse_audit_query(const Params& params);
// A date parameter "YYYY-MM-DD"; nullopt when absent.
std::optional<store::Date> date_param(const Params& params, const std::string& name);
std::optional<std::string> string_param(const Params& params, const std::string& name,
                                        std::size_t max_length = 200);
std::optional<std::int64_t> int_param(const Params& params, const std::string& name,
                                      std::int64_t min, std::int64_t max);

}  // namespace laneface::service
