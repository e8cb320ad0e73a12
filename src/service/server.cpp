#include "service/server.hpp"

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

#include "core/error.hpp"
#include "ledger/ledger.hpp"
#include "service/request.hpp"
#include "service/stream_lane.hpp"
#include "store/clock.hpp"

namespace laneface::service {

using core::Error;
using core::ErrorKind;
using Json = nlohmann::json;
using httplib::Request;
using httplib::Response;
using store::UserRole;

namespace {

constexpr const char* kCookie = "laneface_session";
constexpr const char* kVersion = "0.1.0";

const Roles kOperators{UserRole::kOfficer, UserRole::kSupervisor, UserRole::kAdmin};
const Roles kReaders = Roles::all();
const Roles kManagers{UserRole::kSupervisor, UserRole::kAdmin};
const Roles kOversight{UserRole::kAuditor, UserRole::kSupervisor, UserRole::kAdmin};
const Roles kAdmins{UserRole::kAdmin};

// The principal the pre-routing check authenticated for this connection's current request.
thread_local std::optional<Principal> t_principal;
thread_local bool t_cookie_auth = false;

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}, {"status", status}});
}

std::string bearer_token(const Request& req, bool& from_cookie) {
  from_cookie = false;
  const auto auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  const auto cookies = req.get_header_value("Cookie");
  const std::string key = std::string(kCookie) + "=";
  for (std::size_t pos = 0; pos < cookies.size();) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    const auto end = cookies.find(';', pos);
    const auto item = cookies.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (item.rfind(key, 0) == 0) {
      from_cookie = true;
      return item.substr(key.size());
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return {};
}

store::Id path_id(const Request& req) {
  try {
    const auto id = std::stoll(req.matches[1].str());
    if (id > 0) return id;
  } catch (const std::exception&) {
  }
  throw RequestError(400, "path id must be a positive integer");
}

Params params_of(const Request& req) { return {req.params.begin(), req.params.end()}; }

std::string image_type(std::span<const unsigned char> bytes) {
  try {
    const auto h = core::probe_image_header(bytes, "photo");
    if (h.format == "png") return "image/png";
    if (h.format == "webp") return "image/webp";
    if (h.format == "bmp") return "image/bmp";
  } catch (const Error&) {
  }
  return "image/jpeg";
}

std::string safe_name(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') out += c;
  }
  return out.substr(0, 64);
}

}  // namespace

static LaneOptions lane_options(const ServiceConfig& c) {
  LaneOptions o;
  if (!c.upload_dir.empty()) o.spool = c.upload_dir / "streams";
  return o;
}

struct Service::Impl {
  using Handler = std::function<void(const Request&, Response&, const Principal&)>;
  struct Route {
    RouteInfo info;
    Handler handler;
  };

  ServiceConfig config;
  store::Store& store;
  std::shared_ptr<const store::Clock> clock;
  Biometrics biometrics;
  EventHub events;
  Metrics metrics;
  Auth auth;
  LaneManager lanes;
  std::vector<Route> routes;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<int> sse_clients{0};

  Impl(ServiceConfig c, store::Store& s, std::shared_ptr<const store::Clock> clk, Processor p,
       Biometrics b)
      : config(std::move(c)),
        store(s),
        clock(clk),
        biometrics(std::move(b)),
        events(),
        metrics(clk),
        auth(s, clk, config.auth),
        lanes(std::move(p), s, events, metrics, clk, lane_options(config)) {
    define_routes();
  }

  void add(std::string method, std::string path, std::string pattern, Roles roles,
           std::string summary, std::string tag, Handler h) {
    routes.push_back({{std::move(method), std::move(path), std::move(pattern), roles,
                       std::move(summary), std::move(tag)},
                      std::move(h)});
  }

  bool is_public(const std::string& path) const {
    for (const auto& r : routes)
      if (r.info.roles.empty() && r.info.path == path) return true;
    return false;
  }

  // --- handlers -------------------------------------------------------------------------

  void define_routes() {
    const std::string id = R"((\d+))";
    add("GET", "/api/openapi.json", "/api/openapi.json", {}, "This API description (no login)",
        "meta", [this](const Request&, Response& res, const Principal&) {
          send_json(res, 200, openapi());
        });
    add("POST", "/api/login", "/api/login", {},
        "Log in with user and password; returns a session token and sets the session cookie",
        "auth", [this](const Request& req, Response& res, const Principal&) { login(req, res); });
    add("POST", "/api/logout", "/api/logout", kReaders, "End this session", "auth",
        [this](const Request& req, Response& res, const Principal& p) {
          bool cookie = false;
          auth.logout(bearer_token(req, cookie));
          store.record_event({p.name, "logout", "user:" + std::to_string(p.user_id), {}});
          res.set_header("Set-Cookie", std::string(kCookie) +
                                           "=; Path=/api; Max-Age=0; HttpOnly; SameSite=Strict");
          send_json(res, 200, {{"ok", true}});
        });
    add("GET", "/api/me", "/api/me", kReaders, "Who this session belongs to", "auth",
        [](const Request&, Response& res, const Principal& p) {
          send_json(res, 200, {{"user", p.name}, {"role", store::to_string(p.role)}});
        });
    add("GET", "/api/users", "/api/users", kAdmins, "List users (names and roles)", "auth",
        [this](const Request&, Response& res, const Principal&) {
          Json out = Json::array();
          for (const auto& u : store.list_users()) {
            out.push_back({{"id", u.id},
                           {"name", u.name},
                           {"role", store::to_string(u.role)},
                           {"active", u.active},
                           {"created_at", store::format_time(u.created_at)}});
          }
          send_json(res, 200, {{"users", out}});
        });
    add("POST", "/api/users", "/api/users", kAdmins, "Add a user {name, role, password}", "auth",
        [this](const Request& req, Response& res, const Principal& p) {
          const auto r = parse_new_user(parse_json_body(req.body, config.max_json_bytes));
          const auto u = auth.add_user(r.name, r.role, r.password, p.name);
          send_json(res, 201, {{"id", u.id}, {"name", u.name}, {"role", store::to_string(u.role)}});
        });
    add("GET", "/api/health", "/api/health", kReaders, "Service health", "meta",
        [this](const Request&, Response& res, const Principal&) {
          send_json(res, 200,
                    {{"status", "ok"},
                     {"version", kVersion},
                     {"queue_depth", lanes.queue_depth()},
                     {"processed", lanes.processed()},
                     {"sse_clients", sse_clients.load()},
                     {"tls", config.tls_cert.has_value()},
                     {"face_engine", static_cast<bool>(biometrics.verify)}});
        });
    add("GET", "/api/metrics", "/api/metrics", kOversight, "Prometheus metrics (text format 0.0.4)",
        "meta", [this](const Request&, Response& res, const Principal&) {
          metrics.set_sse_clients(sse_clients.load());
          metrics.set_queue_depth(lanes.queue_depth());
          res.set_content(metrics.prometheus(), "text/plain; version=0.0.4");
        });
    add("GET", "/api/lanes", "/api/lanes", kReaders, "Lanes, their cameras and state", "lanes",
        [this](const Request&, Response& res, const Principal&) {
          send_json(res, 200, {{"lanes", lanes.lanes()}});
        });
    add("GET", "/api/lanes/{lane}/cameras", R"(/api/lanes/([A-Za-z0-9_-]+)/cameras)", kReaders,
        "Cameras of a lane", "lanes", [this](const Request& req, Response& res, const Principal&) {
          const auto cams = lanes.cameras(req.matches[1]);
          if (cams.is_null()) throw RequestError(404, "no lane " + req.matches[1].str());
          send_json(res, 200, {{"lane", req.matches[1].str()}, {"cameras", cams}});
        });
    add("GET", "/api/lanes/{lane}/recent", R"(/api/lanes/([A-Za-z0-9_-]+)/recent)", kOperators,
        "The latest processed vehicles of a lane (as the live events gave them)", "lanes",
        [this](const Request& req, Response& res, const Principal&) {
          const auto recent = lanes.recent(req.matches[1]);
          if (recent.is_null()) throw RequestError(404, "no lane " + req.matches[1].str());
          send_json(res, 200, {{"lane", req.matches[1].str()}, {"vehicles", recent}});
        });
    add("POST", "/api/lanes", "/api/lanes", kManagers,
        "Add (or, when stopped, replace) a live lane whose cameras are stream URLs {lane, port, "
        "direction, segment_s, cameras: [{id, url}]} (rtsp, rtsps, http, https)",
        "lanes", [this](const Request& req, Response& res, const Principal& p) {
          const auto r = parse_stream_lane(parse_json_body(req.body, 64 * 1024));
          LaneInfo info;
          info.id = r.lane;
          info.port = r.port;
          info.direction = r.direction;
          info.cameras = r.cameras;
          info.segment_s = r.segment_s;
          info.stream = true;
          try {
            lanes.add_stream_lane(info);
          } catch (const Error& e) {
            throw RequestError(e.kind() == ErrorKind::kConfig ? 409 : 400, e.what());
          }
          Json cams = Json::array();
          for (const auto& [cid, url] : r.cameras) cams.push_back(cid);
          store.record_event(
              {p.name, "lane_add", "lane:" + r.lane, {{"cameras", cams}, {"source", "stream"}}});
          send_json(res, 201, {{"lane", r.lane}, {"cameras", lanes.cameras(r.lane)}});
        });
    add("POST", "/api/lanes/{lane}/start", R"(/api/lanes/([A-Za-z0-9_-]+)/start)", kManagers,
        "Start processing a lane's source: replay of a lane directory {speed, loop}, or connect "
        "to a stream lane's cameras {connect_timeout_s} (422 naming the camera when one cannot "
        "be reached in time)",
        "lanes", [this](const Request& req, Response& res, const Principal& p) {
          const auto r = parse_lane_start(
              req.body.empty() ? Json::object() : parse_json_body(req.body, config.max_json_bytes));
          const std::string lane = req.matches[1];
          if (!lanes.has_lane(lane)) throw RequestError(404, "no lane " + lane);
          StreamOptions so;
          so.connect_timeout =
              std::chrono::milliseconds(static_cast<std::int64_t>(r.connect_timeout_s * 1000));
          so.read_timeout = std::max(so.connect_timeout, std::chrono::milliseconds(2000));
          const bool stream = lanes.is_stream(lane);
          try {
            if (!lanes.start(lane, r.speed, r.loop, so))
              throw RequestError(409, "lane " + lane + " has no source to replay or record");
          } catch (const Error& e) {
            store.record_event(
                {p.name, "lane_start_failed", "lane:" + lane, {{"error", e.what()}}});
            throw RequestError(422, e.what());
          }
          store.record_event({p.name,
                              "lane_start",
                              "lane:" + lane,
                              {{"speed", r.speed}, {"source", stream ? "stream" : "replay"}}});
          send_json(res, 200,
                    {{"lane", lane}, {"running", true}, {"source", stream ? "stream" : "replay"}});
        });
    add("POST", "/api/lanes/{lane}/stop", R"(/api/lanes/([A-Za-z0-9_-]+)/stop)", kManagers,
        "Stop processing a lane's source", "lanes",
        [this](const Request& req, Response& res, const Principal& p) {
          const std::string lane = req.matches[1];
          if (!lanes.stop(lane)) throw RequestError(404, "no lane " + lane);
          store.record_event({p.name, "lane_stop", "lane:" + lane, {}});
          send_json(res, 200, {{"lane", lane}, {"running", false}});
        });
    add("POST", "/api/vehicles", "/api/vehicles", kOperators,
        "Submit a vehicle pass: JSON event, or multipart with part 'event' (JSON) and one file "
        "per camera (part name = camera id)",
        "lanes", [this](const Request& req, Response& res, const Principal& p) {
          submit_vehicle(req, res, p);
        });
    add("GET", "/api/crossings", "/api/crossings", kReaders,
        "Crossings with occupants and decisions; filters from, to, lane, direction, document, "
        "outcome; paging offset, limit",
        "records", [this](const Request& req, Response& res, const Principal&) {
          const auto q = parse_crossing_query(params_of(req));
          const auto page = store.list_crossings(q);
          Json items = Json::array();
          for (const auto& c : page.items) items.push_back(store::to_json(c));
          send_json(
              res, 200,
              {{"total", page.total}, {"offset", q.offset}, {"limit", q.limit}, {"items", items}});
        });
    add("GET", "/api/crossings/{id}", "/api/crossings/" + id, kReaders,
        "One crossing with its occupants and decisions", "records",
        [this](const Request& req, Response& res, const Principal&) {
          const auto c = store.crossing_record(path_id(req));
          if (!c) throw RequestError(404, "no crossing " + req.matches[1].str());
          send_json(res, 200, store::to_json(*c));
        });
    add("GET", "/api/photos/{id}", "/api/photos/" + id, kOperators,
        "An encounter photo (audited as a photo view with the user; never for auditors)", "records",
        [this](const Request& req, Response& res, const Principal& p) {
          const auto bytes = store.view_photo(path_id(req), p.name);
          res.set_header("Cache-Control", "no-store");
          res.set_content(std::string(bytes.begin(), bytes.end()), image_type(bytes));
        });
    add("POST", "/api/documents", "/api/documents", kManagers,
        "Enrol a travel document with its portrait (base64 in 'portrait')", "biometrics",
        [this](const Request& req, Response& res, const Principal& p) {
          if (!biometrics.enrol) throw RequestError(503, "no face engine loaded: enrolment is off");
          const auto r = parse_enrol(parse_json_body(req.body, config.max_json_bytes),
                                     config.image_limits.max_file_bytes);
          check_image(r.portrait, "portrait");
          send_json(res, 201, biometrics.enrol(r.document, r.portrait, p.name));
        });
    add("POST", "/api/verify", "/api/verify", kOperators,
        "1:1 verification of two face images (base64 'a' and 'b')", "biometrics",
        [this](const Request& req, Response& res, const Principal& p) {
          if (!biometrics.verify) throw RequestError(503, "no face engine loaded");
          const Json body = parse_json_body(req.body, config.max_json_bytes);
          const auto a = parse_image_field(body, "a", config.image_limits.max_file_bytes);
          const auto b = parse_image_field(body, "b", config.image_limits.max_file_bytes);
          check_image(a, "a");
          check_image(b, "b");
          Json out = biometrics.verify(a, b);
          store.record_event({p.name, "verify", "", {{"decision", out.value("decision", "")}}});
          send_json(res, 200, out);
        });
    add("POST", "/api/search", "/api/search", kOperators,
        "1:N search of a face image (base64 'image', 'k' candidates) in the port gallery",
        "biometrics", [this](const Request& req, Response& res, const Principal& p) {
          if (!biometrics.search) throw RequestError(503, "no face engine loaded");
          const Json body = parse_json_body(req.body, config.max_json_bytes);
          const auto img = parse_image_field(body, "image", config.image_limits.max_file_bytes);
          check_image(img, "image");
          const auto kv = body.value("k", 5);
          if (kv < 1 || kv > 50) throw RequestError(400, "field 'k' must be 1..50");
          Json out = biometrics.search(img, kv);
          store.record_event(
              {p.name,
               "search",
               "",
               {{"k", kv}, {"candidates", out.value("candidates", Json::array()).size()}}});
          send_json(res, 200, out);
        });
    add("POST", "/api/decisions", "/api/decisions", kOperators,
        "An officer's decision on an occupant: confirm, override (reject) or refer", "records",
        [this](const Request& req, Response& res, const Principal& p) {
          const auto r = parse_decision(parse_json_body(req.body, config.max_json_bytes));
          store::OfficerDecision d;
          d.occupant_id = r.occupant_id;
          d.officer = p.name;
          d.outcome = r.outcome;
          d.subject_id = r.subject_id;
          d.note = r.action == "override" && r.note.empty() ? "override" : r.note;
          const auto decision_id = store.record_officer_decision(d, p.name);
          metrics.officer_decision(std::string(store::to_string(d.outcome)));
          const Json out{{"decision_id", decision_id},
                         {"occupant_id", d.occupant_id},
                         {"officer", p.name},
                         {"action", r.action},
                         {"outcome", store::to_string(d.outcome)}};
          Json event = out;
          event["kind"] = "officer";
          events.publish("decision_ready", std::move(event));
          send_json(res, 201, out);
        });
    add("GET", "/api/reports/departures", "/api/reports/departures", kReaders,
        "Confirmed departures per day and port (from, to: dates; default the last 14 days)",
        "reports", [this](const Request& req, Response& res, const Principal& p) {
          const auto params = params_of(req);
          const auto today = std::chrono::floor<std::chrono::days>(clock->now());
          const auto to = date_param(params, "to").value_or(store::Date(today));
          const auto from =
              date_param(params, "from")
                  .value_or(store::Date(std::chrono::sys_days(to) - std::chrono::days(13)));
          if (std::chrono::sys_days(from) > std::chrono::sys_days(to))
            throw RequestError(400, "parameter 'from' is after 'to'");
          if (std::chrono::sys_days(to) - std::chrono::sys_days(from) > std::chrono::days(3660))
            throw RequestError(400, "at most ten years per report");
          send_json(res, 200, ledger::to_json(ledger::Ledger(store, p.name).departures(from, to)));
        });
    add("GET", "/api/reports/overstays", "/api/reports/overstays", kReaders,
        "Subjects past their admitted-until date without a confirmed departure (as_of: date)",
        "reports", [this](const Request& req, Response& res, const Principal& p) {
          const auto today = store::Date(std::chrono::floor<std::chrono::days>(clock->now()));
          const auto as_of = date_param(params_of(req), "as_of").value_or(today);
          send_json(res, 200, ledger::to_json(ledger::Ledger(store, p.name).overstays(as_of)));
        });
    add("GET", "/api/reports/unmatched", "/api/reports/unmatched", kReaders,
        "Identified exits without an earlier entry (from, to: dates)", "reports",
        [this](const Request& req, Response& res, const Principal& p) {
          const auto params = params_of(req);
          send_json(res, 200,
                    ledger::to_json(ledger::Ledger(store, p.name)
                                        .unmatched_exits(date_param(params, "from"),
                                                         date_param(params, "to"))));
        });
    add("GET", "/api/reports/lane-stats", "/api/reports/lane-stats", kReaders,
        "Capture rate, latency and frames/s per minute (minutes: 1..1440, default 120)", "reports",
        [this](const Request& req, Response& res, const Principal&) {
          const auto minutes = int_param(params_of(req), "minutes", 1, 1440).value_or(120);
          send_json(res, 200, {{"minutes", metrics.series(static_cast<int>(minutes))}});
        });
    add("GET", "/api/audit", "/api/audit", kOversight,
        "Audit log entries (after: seq, action, actor, limit; newest first without 'after')",
        "audit", [this](const Request& req, Response& res, const Principal&) {
          const auto entries = store.audit_entries(parse_audit_query(params_of(req)));
          Json out = Json::array();
          for (const auto& e : entries) {
            out.push_back({{"seq", e.seq},
                           {"time", store::format_time(e.time)},
                           {"actor", e.actor},
                           {"action", e.action},
                           {"subject_ref", e.subject_ref},
                           {"details", Json::parse(e.details, nullptr, false)}});
          }
          send_json(res, 200, {{"entries", out}});
        });
    add("GET", "/api/audit/verify", "/api/audit/verify", kOversight,
        "Check the audit log's hash chain", "audit",
        [this](const Request&, Response& res, const Principal&) {
          send_json(res, 200, store.verify_audit().to_json());
        });
    add("GET", "/api/events", "/api/events", kOperators,
        "Server-sent events: vehicle_arrived, occupant_captured, decision_ready, vehicle_done",
        "lanes", [this](const Request& req, Response& res, const Principal&) { sse(req, res); });
  }

  void check_image(std::span<const unsigned char> bytes, const std::string& name) const {
    core::ImageHeader h;
    try {
      h = core::probe_image_header(bytes, name);
    } catch (const Error& e) {
      throw RequestError(422, e.what());
    }
    const auto& l = config.image_limits;
    if (h.width > l.max_side || h.height > l.max_side ||
        static_cast<std::uint64_t>(h.width) * static_cast<std::uint64_t>(h.height) > l.max_pixels) {
      throw RequestError(413, name + ": image of " + std::to_string(h.width) + "x" +
                                  std::to_string(h.height) + " exceeds the limits (" +
                                  std::to_string(l.max_side) + " px a side, " +
                                  std::to_string(l.max_pixels) + " pixels)");
    }
  }

  void login(const Request& req, Response& res) {
    const auto r = parse_login(parse_json_body(req.body, 64 * 1024));
    const auto result = auth.login(r.user, r.password, req.remote_addr);
    if (result.retry_after_s > 0) {
      res.set_header("Retry-After", std::to_string(result.retry_after_s));
      send_error(
          res, 429,
          "too many failed logins: try again in " + std::to_string(result.retry_after_s) + " s");
      return;
    }
    if (!result.token) {
      send_error(res, 401, "wrong user name or password");
      return;
    }
    const auto ttl =
        std::chrono::duration_cast<std::chrono::seconds>(auth.config().session_ttl).count();
    res.set_header("Set-Cookie", std::string(kCookie) + "=" + *result.token +
                                     "; Path=/api; Max-Age=" + std::to_string(ttl) +
                                     "; HttpOnly; SameSite=Strict" +
                                     (config.tls_cert ? "; Secure" : ""));
    send_json(res, 200,
              {{"token", *result.token},
               {"user", result.principal.name},
               {"role", store::to_string(result.principal.role)},
               {"expires_at", store::format_time(result.expires_at)}});
  }

  void submit_vehicle(const Request& req, Response& res, const Principal& p) {
    capture::VehiclePass pass;
    std::filesystem::path folder;
    if (req.is_multipart_form_data()) {
      if (!req.has_file("event")) throw RequestError(400, "multipart part 'event' is missing");
      pass = parse_vehicle_event(parse_json_body(req.get_file_value("event").content, 1 << 20));
      if (config.upload_dir.empty()) throw RequestError(503, "uploads are not configured");
      folder = config.upload_dir / ("upload-" + random_token().substr(0, 16));
      std::filesystem::create_directories(folder);
      for (const auto& [name, file] : req.files) {
        if (name == "event") continue;
        const auto camera = safe_name(name);
        if (camera.empty() || camera != name) {
          std::filesystem::remove_all(folder);
          throw RequestError(400, "camera part names may hold only letters, digits, '_' and '-'");
        }
        auto ext = std::filesystem::path(file.filename).extension().string();
        ext = std::string(".") + safe_name(ext.empty() ? "avi" : ext.substr(1));
        const auto path = folder / (camera + ext);
        std::ofstream(path, std::ios::binary)
            .write(file.content.data(), static_cast<std::streamsize>(file.content.size()));
        pass.cameras.push_back({camera, path.string()});
      }
    } else {
      pass = parse_vehicle_event(parse_json_body(req.body, config.max_json_bytes));
    }
    if (pass.time.empty()) pass.time = store::format_time(clock->now());
    const auto position = lanes.submit(pass, 0, folder);
    if (position < 0) {
      if (!folder.empty()) std::filesystem::remove_all(folder);
      res.set_header("Retry-After", "5");
      throw RequestError(503, "the processing queue is full");
    }
    store.record_event({p.name,
                        "vehicle_submit",
                        "lane:" + pass.lane,
                        {{"vehicle", pass.vehicle}, {"cameras", pass.cameras.size()}}});
    send_json(res, 202, {{"vehicle", pass.vehicle}, {"lane", pass.lane}, {"queued", position}});
  }

  void sse(const Request& req, Response& res) {
    std::int64_t last = 0;
    try {
      if (req.has_header("Last-Event-ID")) last = std::stoll(req.get_header_value("Last-Event-ID"));
    } catch (const std::exception&) {
    }
    auto sub = events.subscribe(last);
    ++sse_clients;
    auto keepalive = std::chrono::duration_cast<std::chrono::milliseconds>(config.sse_keepalive);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream",
        [sub, keepalive, first](std::size_t, httplib::DataSink& sink) {
          if (*first) {
            *first = false;
            const std::string hello = "retry: 2000\n: connected\n\n";
            return sink.write(hello.data(), hello.size());
          }
          if (sub->closed()) {
            sink.done();
            return false;
          }
          const auto e = sub->next(keepalive);
          const std::string chunk = e ? e->to_sse() : std::string(": keepalive\n\n");
          if (!sink.is_writable()) return false;
          return sink.write(chunk.data(), chunk.size());
        },
        [this, sub](bool) {
          events.unsubscribe(sub);
          --sse_clients;
        });
  }

  // --- OpenAPI --------------------------------------------------------------------------

  Json openapi() const {
    Json paths = Json::object();
    for (const auto& r : routes) {
      Json op{{"summary", r.info.summary},
              {"tags", {r.info.tag}},
              {"operationId", r.info.method + " " + r.info.path}};
      Json responses{{"200", {{"description", "OK"}}},
                     {"400", {{"description", "malformed request (JSON error body)"}}}};
      if (r.info.roles.empty()) {
        op["security"] = Json::array();
      } else {
        op["x-roles"] = r.info.roles.describe();
        responses["401"] = {{"description", "no valid session token"}};
        responses["403"] = {{"description", "role not allowed: needs " + r.info.roles.describe()}};
      }
      op["responses"] = responses;
      Json parameters = Json::array();
      static const std::regex kParam(R"(\{([a-z_]+)\})");
      for (std::sregex_iterator it(r.info.path.begin(), r.info.path.end(), kParam), end; it != end;
           ++it) {
        parameters.push_back(
            {{"name", (*it)[1].str()},
             {"in", "path"},
             {"required", true},
             {"schema", {{"type", (*it)[1].str() == "id" ? "integer" : "string"}}}});
      }
      if (!parameters.empty()) op["parameters"] = parameters;
      std::string method = r.info.method;
      for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      paths[r.info.path][method] = op;
    }
    return {{"openapi", "3.0.3"},
            {"info",
             {{"title", "laneface service"},
              {"version", kVersion},
              {"description",
               "Lane API of laneface: lanes, crossings, decisions, reports, live events. "
               "Every route except /api/openapi.json and /api/login needs a session token."}}},
            {"components",
             {{"securitySchemes",
               {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
                {"cookie", {{"type", "apiKey"}, {"in", "cookie"}, {"name", kCookie}}}}}}},
            {"security", Json::array({{{"bearer", Json::array()}}, {{"cookie", Json::array()}}})},
            {"paths", paths}};
  }

  // --- server ---------------------------------------------------------------------------

  void install(httplib::Server& s) {
    const int threads = config.threads;
    s.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<std::size_t>(threads));
    };
    // Without TCP_NODELAY a response written in two parts (headers, body) waits for the
    // client's delayed ACK: about 40 ms added to every request on a keep-alive connection.
    s.set_tcp_nodelay(true);
    s.set_payload_max_length(config.max_body_bytes);
    s.set_read_timeout(config.read_timeout);
    s.set_write_timeout(config.write_timeout);
    s.set_keep_alive_timeout(config.keep_alive.count());
    s.set_keep_alive_max_count(100000);
    s.set_pre_routing_handler([this](const Request& req, Response& res) {
      t_principal.reset();
      t_cookie_auth = false;
      if (req.path.rfind("/api/", 0) != 0 || is_public(req.path))
        return httplib::Server::HandlerResponse::Unhandled;
      bool cookie = false;
      const auto token = bearer_token(req, cookie);
      t_principal = token.empty() ? std::nullopt : auth.authenticate(token);
      t_cookie_auth = cookie;
      if (!t_principal) {
        res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, 401,
                   token.empty() ? "log in first: no session token" : "session expired or unknown");
        metrics.http(401, 0);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    s.set_post_routing_handler([](const Request& req, Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("X-Frame-Options", "DENY");
      if (req.path.rfind("/api/", 0) == 0) {
        if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
      } else {
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
      }
    });
    for (const auto& r : routes) {
      auto wrapped = [this, &r](const Request& req, Response& res) {
        const auto t0 = std::chrono::steady_clock::now();
        try {
          Principal p;
          if (!r.info.roles.empty()) {
            if (!t_principal) throw RequestError(401, "log in first: no session token");
            p = *t_principal;
            if (!r.info.roles.contains(p.role)) {
              throw RequestError(403, "role " + std::string(store::to_string(p.role)) +
                                          " may not use " + r.info.method + " " + r.info.path +
                                          " (needs " + r.info.roles.describe() + ")");
            }
            if (t_cookie_auth && r.info.method != "GET" &&
                req.get_header_value("X-Requested-With") != "laneface") {
              throw RequestError(403, "cookie sessions need the header X-Requested-With: laneface");
            }
          }
          r.handler(req, res, p);
        } catch (const RequestError& e) {
          send_error(res, e.status(), e.what());
        } catch (const Error& e) {
          const int status = e.kind() == ErrorKind::kInvalidInput ? 422
                             : e.kind() == ErrorKind::kNotFound   ? 404
                             : e.kind() == ErrorKind::kConfig     ? 503
                                                                  : 500;
          send_error(res, status, status == 500 ? "internal error" : e.what());
          if (status == 500) std::fprintf(stderr, "laneface serve: %s\n", e.what());
        } catch (const std::exception& e) {
          std::fprintf(stderr, "laneface serve: %s %s: %s\n", r.info.method.c_str(),
                       r.info.path.c_str(), e.what());
          send_error(res, 500, "internal error");
        }
        metrics.http(res.status,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      };
      if (r.info.method == "GET") {
        s.Get(r.info.pattern, wrapped);
      } else {
        s.Post(r.info.pattern, wrapped);
      }
    }
    s.set_error_handler([](const Request& req, Response& res) {
      if (!res.body.empty()) return;
      if (req.path.rfind("/api/", 0) == 0 || res.status != 404) {
        send_error(res, res.status,
                   res.status == 404   ? "no such route: " + req.method + " " + req.path
                   : res.status == 413 ? "request body too large"
                                       : "request failed");
      }
    });
    s.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
      send_error(res, 500, "internal error");
    });
    if (!config.web_root.empty()) {
      if (!s.set_mount_point("/", config.web_root.string()))
        throw Error(ErrorKind::kNotFound, config.web_root.string() + ": console folder missing");
    }
  }
};

Service::Service(ServiceConfig config, store::Store& store,
                 std::shared_ptr<const store::Clock> clock, Processor processor,
                 Biometrics biometrics)
    : impl_(std::make_unique<Impl>(std::move(config), store,
                                   clock ? clock : std::make_shared<store::SystemClock>(),
                                   std::move(processor), std::move(biometrics))) {}

Service::~Service() { stop(); }

int Service::start() {
  auto& c = impl_->config;
  if (c.tls_cert || c.tls_key) {
    if (!c.tls_cert || !c.tls_key)
      throw Error(ErrorKind::kConfig, "TLS needs both a certificate and a key file");
    auto ssl = std::make_unique<httplib::SSLServer>(c.tls_cert->c_str(), c.tls_key->c_str());
    if (!ssl->is_valid())
      throw Error(ErrorKind::kConfig, c.tls_cert->string() + " / " + c.tls_key->string() +
                                          ": the certificate or key does not load");
    impl_->server = std::move(ssl);
  } else {
    impl_->server = std::make_unique<httplib::Server>();
  }
  impl_->install(*impl_->server);
  int port = c.port;
  if (port == 0) {
    port = impl_->server->bind_to_any_port(c.host);
  } else if (!impl_->server->bind_to_port(c.host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw Error(ErrorKind::kConfig,
                c.host + ":" + std::to_string(c.port) + ": cannot listen (port in use?)");
  impl_->thread = std::thread([this] { impl_->server->listen_after_bind(); });
  for (int i = 0; i < 5000 && !impl_->server->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port;
}

void Service::stop() {
  if (!impl_) return;
  impl_->events.close();
  impl_->lanes.shutdown();
  if (impl_->server) impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool Service::tls() const { return impl_->config.tls_cert.has_value(); }

std::optional<std::string> Service::ensure_admin() {
  if (!impl_->store.list_users().empty()) return std::nullopt;
  const auto password = random_password();
  impl_->auth.add_user("admin", UserRole::kAdmin, password, "laneface serve");
  return password;
}

std::vector<RouteInfo> Service::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : impl_->routes) out.push_back(r.info);
  return out;
}

nlohmann::json Service::openapi() const { return impl_->openapi(); }
LaneManager& Service::lanes() { return impl_->lanes; }
EventHub& Service::events() { return impl_->events; }
Auth& Service::auth() { return impl_->auth; }
Metrics& Service::metrics() { return impl_->metrics; }

}  // namespace laneface::service
