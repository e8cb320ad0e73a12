// The service over HTTP on loopback, as clients meet it: the OpenAPI description matches the
// routes, every /api/ route refuses a missing, unknown or expired token and the wrong roles,
// request limits give 4xx, photos are audited and refused to auditors, officer decisions are
// audited with the user, a replayed lane reaches the listings, and 50 SSE clients each
// receive every event. Runs the stand-in processor (no models).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <opencv2/videoio.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "rtsp_test_server.hpp"
#include "service/server.hpp"
#include "service/stand_in_processor.hpp"
#include "store/clock.hpp"

namespace laneface::service {
namespace {

using Json = nlohmann::json;

const std::map<UserRole, std::string> kUsers{{UserRole::kOfficer, "officer1"},
                                             {UserRole::kSupervisor, "super1"},
                                             {UserRole::kAuditor, "auditor1"},
                                             {UserRole::kAdmin, "admin1"}};
constexpr const char* kPassword = "test-password-1";

class ServiceHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("laneface_service_http_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "uploads");
    clock_ = std::make_shared<store::FakeClock>(*store::parse_time("2026-03-01T08:00:00Z"));
    store::StoreConfig sc;
    sc.path = dir_ / "db.sqlite";
    sc.key = store::Key::parse(std::string(64, 'c'), "test");
    sc.clock = clock_;
    store_ = store::open_store(sc);
    store::Document d;
    d.number = "P100";
    d.country = "MEX";
    d.holder_name = "Ana Example";
    d.date_of_birth = *store::parse_date("1990-01-01");
    d.admitted_until = store::parse_date("2026-02-01");
    store_->enrol(d, std::nullopt, "test");

    ServiceConfig c;
    c.port = 0;
    c.upload_dir = dir_ / "uploads";
    c.threads = 96;
    c.max_json_bytes = 256 * 1024;
    c.max_body_bytes = 1 << 20;
    c.image_limits.max_side = 4000;
    c.sse_keepalive = std::chrono::seconds(1);
    c.auth.cost = HashCost::minimum();
    c.auth.session_ttl = std::chrono::minutes(30);
    Biometrics b;
    b.verify = [](auto, auto) {
      return Json{{"score", 0.9}, {"threshold", 0.4}, {"decision", "same"}};
    };
    b.search = [](auto, int) { return Json{{"candidates", Json::array()}}; };
    b.enrol = [](const store::Document& d, auto, const std::string&) {
      return Json{{"number", d.number}};
    };
    // The stand-in processor; passes of live lanes ("LIVE...") also have their camera files
    // read, so the stream tests see what the recorder wrote.
    auto stand_in = make_stand_in_processor(*store_);
    auto seen = seen_;
    Processor processor = [stand_in, seen](const capture::VehiclePass& p,
                                           const capture::Observer& o) {
      if (p.lane.rfind("LIVE", 0) == 0) {
        for (const auto& cam : p.cameras) {
          cv::VideoCapture cap(cam.source);
          cv::Mat img;
          int frames = 0;
          while (cap.read(img)) {
            ++frames;
            std::lock_guard lock(seen->mutex);
            seen->size = img.size();
          }
          std::lock_guard lock(seen->mutex);
          seen->frames.push_back(frames);
        }
      }
      return stand_in(p, o);
    };
    service_ = std::make_unique<Service>(c, *store_, clock_, processor, b);
    for (const auto& [role, name] : kUsers)
      service_->auth().add_user(name, role, kPassword, "test");
    port_ = service_->start();
    for (const auto& [role, name] : kUsers) tokens_[role] = login(name);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c;
  }
  std::string login(const std::string& user) {
    auto r = client().Post("/api/login", Json{{"user", user}, {"password", kPassword}}.dump(),
                           "application/json");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    return Json::parse(r->body)["token"];
  }
  static httplib::Headers bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  httplib::Result request(const std::string& method, const std::string& path,
                          const std::string& token, const std::string& body = "") {
    auto c = client();
    const auto h = token.empty() ? httplib::Headers{} : bearer(token);
    if (method == "GET") return c.Get(path.c_str(), h);
    return c.Post(path.c_str(), h, body, "application/json");
  }
  static std::string concrete(const std::string& path) {
    return std::regex_replace(std::regex_replace(path, std::regex(R"(\{id\})"), "1"),
                              std::regex(R"(\{lane\})"), "L1");
  }
  void submit(const std::string& vehicle, const std::string& lane = "L1") {
    auto r = request(
        "POST", "/api/vehicles", tokens_[UserRole::kOfficer],
        Json{{"vehicle", vehicle}, {"lane", lane}, {"documents", {{{"number", "P100"}}}}}.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
  }

  struct Seen {
    std::mutex mutex;
    std::vector<int> frames;  // per camera file of live passes
    cv::Size size;
  };
  std::shared_ptr<Seen> seen_ = std::make_shared<Seen>();
  std::filesystem::path dir_;
  std::shared_ptr<store::FakeClock> clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> service_;
  int port_ = 0;
  std::map<UserRole, std::string> tokens_;
};

TEST_F(ServiceHttp, OpenApiListsExactlyTheRoutesAndEachAnswers) {
  auto r = request("GET", "/api/openapi.json", "");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const Json doc = Json::parse(r->body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::set<std::pair<std::string, std::string>> documented, registered;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      for (auto& ch : m) ch = static_cast<char>(std::toupper(ch));
      documented.insert({m, path});
    }
  }
  for (const auto& route : service_->routes()) registered.insert({route.method, route.path});
  EXPECT_EQ(documented, registered);
  EXPECT_GE(registered.size(), 25u);
  // Every documented operation exists on the server (an admin is never told "no such route"),
  // and nothing undocumented answers.
  for (const auto& [method, path] : documented) {
    if (path == "/api/events") continue;  // a stream: checked in its own test
    if (path == "/api/logout") continue;  // would end the admin session: its own test
    auto res = request(method, concrete(path), tokens_[UserRole::kAdmin], "{}");
    ASSERT_TRUE(res) << method << " " << path;
    EXPECT_EQ(res->body.find("no such route"), std::string::npos) << method << " " << path;
    EXPECT_NE(res->status, 401) << method << " " << path;
    EXPECT_NE(res->status, 403) << method << " " << path;
  }
  auto missing = request("GET", "/api/not-a-route", tokens_[UserRole::kAdmin]);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no such route"), std::string::npos);
  EXPECT_EQ(request("GET", "/api/not-a-route", "")->status, 401);
}

TEST_F(ServiceHttp, EveryRouteChecksTokenAndRole) {
  const std::string unknown(64, 'f');
  for (const auto& route : service_->routes()) {
    const auto path = concrete(route.path);
    const std::string what = route.method + " " + route.path;
    if (route.roles.empty()) continue;  // public: openapi, login
    auto none = request(route.method, path, "", "{}");
    ASSERT_TRUE(none) << what;
    EXPECT_EQ(none->status, 401) << what;
    EXPECT_EQ(Json::parse(none->body)["error"], "log in first: no session token") << what;
    EXPECT_EQ(request(route.method, path, unknown, "{}")->status, 401) << what;
    EXPECT_EQ(request(route.method, path, "garbage", "{}")->status, 401) << what;
    for (const auto& [role, name] : kUsers) {
      if (route.roles.contains(role) || route.path == "/api/events") continue;
      auto res = request(route.method, path, tokens_[role], "{}");
      ASSERT_TRUE(res) << what;
      EXPECT_EQ(res->status, 403) << what << " as " << name << ": " << res->body;
    }
  }
  // The event stream: refused without a token and for auditors (checked without streaming).
  EXPECT_EQ(request("GET", "/api/events", "")->status, 401);
  EXPECT_EQ(request("GET", "/api/events", tokens_[UserRole::kAuditor])->status, 403);
}

TEST_F(ServiceHttp, ExpiredAndLoggedOutTokensAreRefused) {
  const auto token = tokens_[UserRole::kOfficer];
  EXPECT_EQ(request("GET", "/api/me", token)->status, 200);
  clock_->advance(std::chrono::minutes(31));
  for (const auto& route : service_->routes()) {
    if (route.roles.empty()) continue;
    EXPECT_EQ(request(route.method, concrete(route.path), token, "{}")->status, 401)
        << route.method << " " << route.path;
  }
  const auto fresh = login("officer1");
  EXPECT_EQ(request("GET", "/api/me", fresh)->status, 200);
  EXPECT_EQ(request("POST", "/api/logout", fresh, "{}")->status, 200);
  EXPECT_EQ(request("GET", "/api/me", fresh)->status, 401);
}

TEST_F(ServiceHttp, LoginIsRateLimitedAndCookieSessionsNeedTheHeader) {
  auto ok = client().Post("/api/login", Json{{"user", "super1"}, {"password", kPassword}}.dump(),
                          "application/json");
  ASSERT_EQ(ok->status, 200);
  const auto cookie = ok->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const auto value = cookie.substr(0, cookie.find(';'));
  auto c = client();
  EXPECT_EQ(c.Get("/api/me", {{"Cookie", value}})->status, 200);
  const std::string decision = R"({"occupant_id":1,"action":"refer"})";
  EXPECT_EQ(c.Post("/api/decisions", {{"Cookie", value}}, decision, "application/json")->status,
            403);
  EXPECT_EQ(c.Post("/api/decisions", {{"Cookie", value}, {"X-Requested-With", "laneface"}},
                   decision, "application/json")
                ->status,
            422);  // past the CSRF check: occupant 1 does not exist

  for (int i = 0; i < 5; ++i) {
    auto r = client().Post("/api/login", R"({"user":"officer1","password":"nope-nope"})",
                           "application/json");
    EXPECT_EQ(r->status, 401);
  }
  auto r = client().Post("/api/login", Json{{"user", "officer1"}, {"password", kPassword}}.dump(),
                         "application/json");
  EXPECT_EQ(r->status, 429);
  EXPECT_TRUE(r->has_header("Retry-After"));
  clock_->advance(std::chrono::minutes(6));
  r = client().Post("/api/login", Json{{"user", "officer1"}, {"password", kPassword}}.dump(),
                    "application/json");
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServiceHttp, LimitsGive4xxWithAMessage) {
  const auto admin = tokens_[UserRole::kAdmin];
  auto r = request("POST", "/api/decisions", admin, "{not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json::parse(r->body)["error"], "request body is not valid JSON");
  r = request("POST", "/api/decisions", admin, std::string(300 * 1024, ' '));
  EXPECT_EQ(r->status, 413);
  r = request("POST", "/api/vehicles", admin, std::string(2 << 20, 'x'));
  EXPECT_EQ(r->status, 413);
  r = request("POST", "/api/decisions", admin, R"({"occupant_id":999999,"action":"refer"})");
  EXPECT_EQ(r->status, 422);
  // A PNG header claiming 30000x30000 pixels: refused before any decoding.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x75\x30\0\0\x75\x30\x08\x02\0\0\0", 29);
  png += std::string(4, '\0');                             // IHDR CRC (not checked)
  png += std::string("\0\0\0\0IEND\xae\x42\x60\x82", 12);  // the end chunk
  const auto b64 = [](const std::string& s) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < s.size(); i += 3) {
      unsigned v = static_cast<unsigned char>(s[i]) << 16;
      if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
      if (i + 2 < s.size()) v |= static_cast<unsigned char>(s[i + 2]);
      out += t[(v >> 18) & 63];
      out += t[(v >> 12) & 63];
      out += i + 1 < s.size() ? t[(v >> 6) & 63] : '=';
      out += i + 2 < s.size() ? t[v & 63] : '=';
    }
    return out;
  };
  r = request("POST", "/api/verify", admin, Json{{"a", b64(png)}, {"b", b64(png)}}.dump());
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(r->body.find("30000x30000"), std::string::npos) << r->body;
  r = request("POST", "/api/verify", admin, Json{{"a", b64("hello world")}, {"b", "aGk="}}.dump());
  EXPECT_EQ(r->status, 422) << r->body;
  r = request("GET", "/api/crossings?limit=abc", admin);
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServiceHttp, PhotosAndDecisionsAreAuditedWithTheUser) {
  submit("v0001");
  ASSERT_TRUE(service_->lanes().wait_idle(std::chrono::seconds(10)));
  auto r = request("GET", "/api/crossings?lane=L1", tokens_[UserRole::kAuditor]);
  ASSERT_EQ(r->status, 200);
  const Json page = Json::parse(r->body);
  ASSERT_EQ(page["total"], 1);
  const auto& occ = page["items"][0]["occupants"][0];
  ASSERT_EQ(occ["photo_ids"].size(), 1u);
  const std::string photo = "/api/photos/" + std::to_string(occ["photo_ids"][0].get<long>());
  EXPECT_EQ(request("GET", photo, tokens_[UserRole::kAuditor])->status, 403);
  auto img = request("GET", photo, tokens_[UserRole::kOfficer]);
  ASSERT_EQ(img->status, 200);
  EXPECT_EQ(img->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(img->get_header_value("Cache-Control"), "no-store");
  EXPECT_GT(img->body.size(), 100u);

  const Json decision{{"occupant_id", occ["occupant_id"]},
                      {"action", "confirm"},
                      {"subject_id", occ["subject_id"]}};
  r = request("POST", "/api/decisions", tokens_[UserRole::kOfficer], decision.dump());
  ASSERT_EQ(r->status, 201) << r->body;

  r = request("GET", "/api/audit?limit=50", tokens_[UserRole::kAuditor]);
  ASSERT_EQ(r->status, 200);
  bool viewed = false, decided = false;
  const Json audit = Json::parse(r->body);
  for (const auto& e : audit["entries"]) {
    viewed |= e["action"] == "photo_view" && e["actor"] == "officer1";
    decided |= e["action"] == "officer_decision" && e["actor"] == "officer1" &&
               e["details"]["outcome"] == "confirmed";
  }
  EXPECT_TRUE(viewed) << r->body;
  EXPECT_TRUE(decided) << r->body;
  r = request("GET", "/api/audit/verify", tokens_[UserRole::kAuditor]);
  EXPECT_EQ(Json::parse(r->body)["ok"], true);
  // Reports are open to auditors.
  for (const char* p : {"/api/reports/departures", "/api/reports/overstays?as_of=2026-03-01",
                        "/api/reports/unmatched", "/api/reports/lane-stats"}) {
    r = request("GET", p, tokens_[UserRole::kAuditor]);
    EXPECT_EQ(r->status, 200) << p << r->body;
  }
  r = request("GET", "/api/reports/overstays?as_of=2026-03-01", tokens_[UserRole::kAuditor]);
  EXPECT_EQ(Json::parse(r->body)["rows"].size(), 1u) << r->body;
  r = request("GET", "/api/metrics", tokens_[UserRole::kAuditor]);
  EXPECT_NE(r->body.find("laneface_vehicles_processed_total 1"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("laneface_officer_decisions_total{outcome=\"confirmed\"} 1"),
            std::string::npos);
}

TEST_F(ServiceHttp, ReplayedLaneReachesListingsAndRecent) {
  const auto lane = dir_ / "lane";
  Json vehicles = Json::array();
  for (int i = 0; i < 6; ++i) {
    const std::string id = "v000" + std::to_string(i);
    vehicles.push_back({{"id", id}, {"start_s", i * 0.5}, {"frames", 8}});
    std::filesystem::create_directories(lane / "vehicles" / id);
    std::ofstream(lane / "vehicles" / id / "event.json") << Json{
        {"vehicle", id},
        {"lane", "L7"},
        {"direction", "exit"},
        {"documents", {{{"number", "P100"}}}}}.dump();
  }
  std::ofstream(lane / "lane.json") << Json{
      {"format", "laneface-lane/1"},
      {"lane", "L7"},
      {"port", "DEMO"},
      {"direction", "exit"},
      {"fps", 15},
      {"cameras", {{{"id", "windshield"}, {"file", "windshield.avi"}}}},
      {"vehicles", vehicles}}.dump();
  EXPECT_EQ(service_->lanes().add_lane_dir(lane), "L7");
  auto r = request("POST", "/api/lanes/L7/start", tokens_[UserRole::kOfficer], "{}");
  EXPECT_EQ(r->status, 403);
  r = request("POST", "/api/lanes/L7/start", tokens_[UserRole::kSupervisor], R"({"speed": 50})");
  ASSERT_EQ(r->status, 200) << r->body;
  for (int i = 0; i < 200 && service_->lanes().processed() < 6; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_TRUE(service_->lanes().wait_idle(std::chrono::seconds(10)));
  r = request("GET", "/api/lanes/L7/recent", tokens_[UserRole::kOfficer]);
  const Json recent = Json::parse(r->body)["vehicles"];
  ASSERT_EQ(recent.size(), 6u);
  EXPECT_EQ(recent[0]["vehicle"], "v0005");
  EXPECT_TRUE(recent[0]["record"].is_object());
  r = request("GET", "/api/crossings?lane=L7&direction=exit&limit=4", tokens_[UserRole::kOfficer]);
  const Json page = Json::parse(r->body);
  EXPECT_EQ(page["total"], 6);
  EXPECT_EQ(page["items"].size(), 4u);
  r = request("GET", "/api/lanes/L7/cameras", tokens_[UserRole::kAuditor]);
  EXPECT_EQ(Json::parse(r->body)["cameras"][0]["id"], "windshield");
  EXPECT_EQ(request("GET", "/api/lanes/NOPE/cameras", tokens_[UserRole::kAuditor])->status, 404);
}

TEST_F(ServiceHttp, FiftySseClientsReceiveEveryEvent) {
  constexpr int kClients = 50, kVehicles = 8;
  std::atomic<int> connected{0};
  std::vector<std::map<std::string, int>> counts(kClients);
  std::vector<std::vector<long>> ids(kClients);
  std::vector<std::thread> threads;
  const auto token = tokens_[UserRole::kOfficer];
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = client();
      std::string buffer;
      bool counted = false;
      c.Get("/api/events", bearer(token), [&](const char* data, std::size_t n) {
        if (!counted) {
          counted = true;
          ++connected;
        }
        buffer.append(data, n);
        for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
          const std::string block = buffer.substr(0, end);
          buffer.erase(0, end + 2);
          std::smatch m;
          if (std::regex_search(block, m, std::regex(R"(event: (\w+))"))) ++counts[i][m[1]];
          if (std::regex_search(block, m, std::regex(R"(id: (\d+))")))
            ids[i].push_back(std::stol(m[1]));
        }
        return counts[i]["vehicle_done"] < kVehicles;
      });
    });
  }
  for (int i = 0; i < 400 && connected < kClients; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(connected, kClients);
  for (int v = 0; v < kVehicles; ++v) submit("v" + std::to_string(v));
  for (auto& t : threads) t.join();
  const auto published = service_->events().published();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(counts[i]["vehicle_arrived"], kVehicles) << "client " << i;
    EXPECT_EQ(counts[i]["vehicle_done"], kVehicles) << "client " << i;
    EXPECT_GE(counts[i]["occupant_captured"], kVehicles) << "client " << i;
    EXPECT_GE(counts[i]["decision_ready"], kVehicles) << "client " << i;
    // Every event in order without gaps, up to the last vehicle_done.
    ASSERT_FALSE(ids[i].empty());
    for (std::size_t k = 1; k < ids[i].size(); ++k) EXPECT_EQ(ids[i][k], ids[i][k - 1] + 1);
    EXPECT_EQ(ids[i].back(), published) << "client " << i;
  }
}

TEST_F(ServiceHttp, MultipartSubmissionStoresCameraFilesForTheProcessor) {
  httplib::MultipartFormDataItems items{
      {"event", Json{{"vehicle", "v9"}, {"lane", "L2"}}.dump(), "", "application/json"},
      {"windshield", std::string(1000, 'x'), "w.avi", "video/x-msvideo"}};
  auto r = client().Post("/api/vehicles", bearer(tokens_[UserRole::kOfficer]), items);
  ASSERT_EQ(r->status, 202) << r->body;
  httplib::MultipartFormDataItems bad{
      {"event", Json{{"vehicle", "v9"}, {"lane", "L2"}}.dump(), "", "application/json"},
      {"../etc", "x", "x.avi", "video/x-msvideo"}};
  r = client().Post("/api/vehicles", bearer(tokens_[UserRole::kOfficer]), bad);
  EXPECT_EQ(r->status, 400) << r->body;
  ASSERT_TRUE(service_->lanes().wait_idle(std::chrono::seconds(10)));
  // Uploaded files are removed once processed.
  std::size_t left = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "uploads")) left += e.exists();
  EXPECT_EQ(left, 0u);
}

namespace {

Json lane_of(const Json& listing, const std::string& id) {
  for (const auto& l : listing["lanes"])
    if (l["id"] == id) return l;
  return nullptr;
}

}  // namespace

TEST_F(ServiceHttp, StreamLanesRefuseBadUrlsWith400NamingThem) {
  const auto admin = tokens_[UserRole::kAdmin];
  auto add = [&](const Json& body) {
    auto r = request("POST", "/api/lanes", admin, body.dump());
    EXPECT_TRUE(r);
    return std::make_pair(r->status, Json::parse(r->body).value("error", ""));
  };
  auto lane = [](const std::string& url) {
    return Json{{"lane", "LIVE9"}, {"cameras", {{{"id", "windshield"}, {"url", url}}}}};
  };
  for (const std::string url :
       {"ftp://127.0.0.1/x", "rtsp://", "rtsp:///x", "rtsp://host:0/x", "rtsp://host:99999/x",
        "rtsp://host/a b", "127.0.0.1:554/x", "rtsp://[::1/x"}) {
    const auto [status, error] = add(lane(url));
    EXPECT_EQ(status, 400) << url;
    EXPECT_NE(error.find("camera windshield: URL"), std::string::npos) << url << ": " << error;
  }
  EXPECT_EQ(add(Json{{"lane", "LIVE9"}, {"cameras", Json::array()}}).first, 400);
  EXPECT_EQ(add(Json{{"lane", "LIVE9"}}).second,
            "field 'cameras' must be a non-empty array of {\"id\", \"url\"}");
  EXPECT_EQ(
      add(Json{{"lane", "LIVE 9"}, {"cameras", {{{"id", "a"}, {"url", "rtsp://h/x"}}}}}).first,
      400);
  Json seg = lane("rtsp://h/x");
  seg["segment_s"] = 0;
  EXPECT_EQ(add(seg).second, "field 'segment_s' must be 0.2..600");
  Json twice = lane("rtsp://h/x");
  twice["cameras"].push_back({{"id", "windshield"}, {"url", "rtsp://h/y"}});
  EXPECT_EQ(add(twice).second, "camera id 'windshield' is given twice");
  // Credentials in a URL never come back out of the API.
  auto [status, error] = add(lane("rtsp://user:secret@127.0.0.1:1/x"));
  EXPECT_EQ(status, 201);
  auto r = request("GET", "/api/lanes/LIVE9/cameras", admin);
  EXPECT_EQ(Json::parse(r->body)["cameras"][0]["url"], "rtsp://***@127.0.0.1:1/x");
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
  EXPECT_EQ(
      request("POST", "/api/lanes", tokens_[UserRole::kOfficer], lane("rtsp://h/x").dump())->status,
      403);
  // A lane.json may name URLs instead of files; mixing both is refused, naming the file.
  const auto dir = dir_ / "stream-lane";
  std::filesystem::create_directories(dir);
  Json lane_json{{"format", "laneface-lane/1"},
                 {"lane", "LIVE8"},
                 {"segment_s", 2},
                 {"cameras", {{{"id", "windshield"}, {"url", "rtsp://127.0.0.1:1/x"}}}}};
  std::ofstream(dir / "lane.json") << lane_json.dump();
  EXPECT_EQ(service_->lanes().add_lane_dir(dir), "LIVE8");
  EXPECT_TRUE(service_->lanes().is_stream("LIVE8"));
  const Json listed = lane_of(Json::parse(request("GET", "/api/lanes", admin)->body), "LIVE8");
  EXPECT_EQ(listed["source"], "stream");
  EXPECT_EQ(listed["segment_s"], 2.0);
  EXPECT_EQ(listed["replayable"], false);
  lane_json["cameras"].push_back({{"id", "side"}, {"file", "side.avi"}});
  std::ofstream(dir / "lane.json") << lane_json.dump();
  try {
    read_lane_dir(dir);
    ADD_FAILURE() << "a lane mixing files and URLs was read";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cameras mix files and stream URLs"), std::string::npos)
        << e.what();
  }
  // A start body with the wrong types.
  r = request("POST", "/api/lanes/LIVE9/start", admin, R"({"connect_timeout_s": 100})");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(Json::parse(r->body)["error"], "field 'connect_timeout_s' must be 0.2..30");
}

TEST_F(ServiceHttp, UnreachableOrSilentCamerasGive422WithinTheTimeout) {
  const auto admin = tokens_[UserRole::kAdmin];
  laneface::testing::RtspTestServer silent(laneface::testing::RtspTestServer::Mode::kSilent);
  const std::string refused =
      "rtsp://127.0.0.1:" + std::to_string(laneface::testing::closed_port()) + "/x";
  for (const auto& url : {refused, silent.url()}) {
    auto r = request("POST", "/api/lanes", admin,
                     Json{{"lane", "LIVE2"}, {"cameras", {{{"id", "cam1"}, {"url", url}}}}}.dump());
    ASSERT_EQ(r->status, 201) << r->body;
    const auto t0 = std::chrono::steady_clock::now();
    r = request("POST", "/api/lanes/LIVE2/start", admin, R"({"connect_timeout_s": 1})");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << url << ": " << r->body;
    const std::string error = Json::parse(r->body)["error"];
    EXPECT_NE(error.find("camera cam1: " + url), std::string::npos) << error;
    // Bounded: connect timeout (1 s) + read timeout (2 s) + 1 s of slack at most, and
    // well under the client's 20 s.
    EXPECT_LT(s, 5.0) << url;
    const Json l = lane_of(Json::parse(request("GET", "/api/lanes", admin)->body), "LIVE2");
    EXPECT_EQ(l["state"], "error");
    EXPECT_EQ(l["running"], false);
    EXPECT_EQ(l["error"], error);
  }
  EXPECT_GE(silent.sessions(), 1);
}

TEST_F(ServiceHttp, RtspLaneRecordsSegmentsForThePipelineAndStopReallyStops) {
  const auto admin = tokens_[UserRole::kAdmin];
  laneface::testing::RtspTestServer camera(laneface::testing::RtspTestServer::Mode::kStream, 320,
                                           240, 25);
  auto r = request("POST", "/api/lanes", admin,
                   Json{{"lane", "LIVE1"},
                        {"port", "DEMO"},
                        {"direction", "exit"},
                        {"segment_s", 0.4},
                        {"cameras", {{{"id", "windshield"}, {"url", camera.url()}}}}}
                       .dump());
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(request("POST", "/api/lanes/LIVE1/start", tokens_[UserRole::kOfficer], "{}")->status,
            403);
  r = request("POST", "/api/lanes/LIVE1/start", admin, R"({"connect_timeout_s": 5})");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["source"], "stream");
  EXPECT_TRUE(camera.connected());
  Json l;
  for (int i = 0; i < 200; ++i) {
    l = lane_of(Json::parse(request("GET", "/api/lanes", admin)->body), "LIVE1");
    if (l["processed"].get<int>() >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(l["source"], "stream");
  EXPECT_EQ(l["state"], "running");
  EXPECT_EQ(l["running"], true);
  EXPECT_GE(l["processed"].get<int>(), 3) << l.dump();
  r = request("POST", "/api/lanes/LIVE1/stop", admin, "{}");
  ASSERT_EQ(r->status, 200);
  // Stopped means disconnected: the camera sees the connection end within 2 s.
  for (int i = 0; i < 40 && camera.connected(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(camera.connected());
  ASSERT_TRUE(service_->lanes().wait_idle(std::chrono::seconds(10)));
  l = lane_of(Json::parse(request("GET", "/api/lanes", admin)->body), "LIVE1");
  EXPECT_EQ(l["state"], "stopped");
  EXPECT_EQ(l["running"], false);
  EXPECT_TRUE(l["error"].is_null());
  const auto processed = l["processed"].get<int>();
  const auto sent = camera.frames_sent();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(camera.frames_sent(), sent);  // nothing streams after stop
  EXPECT_EQ(service_->lanes().processed(), static_cast<std::int64_t>(processed));
  // Each full segment holds 0.4 s x 25 fps = 10 frames of the camera's 320x240 video (the
  // last one, cut by stop, at least 1 s of frames or none); all were recorded as crossings.
  {
    std::lock_guard lock(seen_->mutex);
    ASSERT_GE(seen_->frames.size(), 3u);
    for (std::size_t i = 0; i + 1 < seen_->frames.size(); ++i) EXPECT_EQ(seen_->frames[i], 10);
    EXPECT_EQ(seen_->size, cv::Size(320, 240));
  }
  r = request("GET", "/api/crossings?lane=LIVE1&direction=exit", tokens_[UserRole::kOfficer]);
  EXPECT_EQ(Json::parse(r->body)["total"], processed);
  // The spool holds no segment files once processed.
  std::size_t left = 0;
  if (std::filesystem::exists(dir_ / "uploads" / "streams" / "LIVE1"))
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator(dir_ / "uploads" / "streams" / "LIVE1"))
      ++left;
  EXPECT_EQ(left, 0u);
  // A running stream lane cannot be replaced; a stopped one can; start again reconnects.
  r = request("POST", "/api/lanes/LIVE1/start", admin, "{}");
  ASSERT_EQ(r->status, 200) << r->body;
  r = request("POST", "/api/lanes", admin,
              Json{{"lane", "LIVE1"}, {"cameras", {{{"id", "w"}, {"url", camera.url()}}}}}.dump());
  EXPECT_EQ(r->status, 409) << r->body;
  EXPECT_EQ(request("POST", "/api/lanes/LIVE1/stop", admin, "{}")->status, 200);
  EXPECT_GE(camera.sessions(), 2);
}

}  // namespace
}  // namespace laneface::service
