// Service pieces without a network: passwords, tokens, the login limiter, request parsing,
// the event hub, metrics, and the store's users/sessions/listings.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/error.hpp"
#include "service/auth.hpp"
#include "service/events.hpp"
#include "service/metrics.hpp"
#include "service/request.hpp"
#include "service/stand_in_processor.hpp"
#include "store/clock.hpp"
#include "store/store.hpp"

namespace laneface::service {
namespace {

using Json = nlohmann::json;
using store::parse_time;

TEST(ServiceAuth, PasswordHashIsArgon2idAndVerifies) {
  const auto h = hash_password("correct horse", HashCost::minimum());
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct hors"));
  EXPECT_NE(h, hash_password("correct horse", HashCost::minimum()));  // salted
  EXPECT_THROW(hash_password("short", HashCost::minimum()), core::Error);
}

TEST(ServiceAuth, TokensAreRandomAndStoredHashed) {
  const auto a = random_token(), b = random_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(token_hash(a).size(), 64u);
  EXPECT_NE(token_hash(a), a);
  EXPECT_EQ(token_hash(a), token_hash(a));
}

TEST(ServiceAuth, RolesDescribeAndContain) {
  const Roles r{UserRole::kOfficer, UserRole::kAdmin};
  EXPECT_TRUE(r.contains(UserRole::kOfficer));
  EXPECT_FALSE(r.contains(UserRole::kAuditor));
  EXPECT_EQ(r.describe(), "officer, admin");
  EXPECT_TRUE(Roles{}.empty());
}

TEST(ServiceAuth, LimiterLocksOutAfterFailuresUntilTheWindowPasses) {
  auto clock = std::make_shared<store::FakeClock>(*parse_time("2026-01-01T00:00:00Z"));
  LoginLimiter limiter(clock, 3, std::chrono::minutes(5));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.retry_after("u"), 0);
    limiter.failure("u");
  }
  EXPECT_EQ(limiter.retry_after("u"), 300);
  EXPECT_EQ(limiter.retry_after("other"), 0);
  clock->advance(std::chrono::minutes(4));
  EXPECT_EQ(limiter.retry_after("u"), 60);
  clock->advance(std::chrono::minutes(1));
  EXPECT_EQ(limiter.retry_after("u"), 0);
}

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RequestError& e) {
    return e.status();
  }
  return 0;
}

TEST(ServiceRequest, MalformedBodiesAre4xxWithAMessage) {
  EXPECT_EQ(status_of([] { parse_json_body("{", 100); }), 400);
  EXPECT_EQ(status_of([] { parse_json_body("[1]", 100); }), 400);
  EXPECT_EQ(status_of([] { parse_json_body(std::string(101, ' '), 100); }), 413);
  EXPECT_EQ(status_of([] { parse_login(Json{{"user", 5}, {"password", "x"}}); }), 400);
  EXPECT_EQ(status_of([] {
              parse_decision(Json{{"occupant_id", -1}, {"action", "confirm"}});
            }),
            400);
  EXPECT_EQ(status_of([] {
              parse_decision(Json{{"occupant_id", 3}, {"action", "approve"}});
            }),
            400);
  EXPECT_EQ(status_of([] {
              parse_new_user(Json{{"name", "a b"}, {"role", "officer"}, {"password", "12345678"}});
            }),
            400);
  EXPECT_EQ(status_of([] {
              parse_new_user(Json{{"name", "ab"}, {"role", "king"}, {"password", "12345678"}});
            }),
            400);
  try {
    parse_decision(Json{{"action", "confirm"}});
    FAIL();
  } catch (const RequestError& e) {
    EXPECT_NE(std::string(e.what()).find("occupant_id"), std::string::npos) << e.what();
  }
}

TEST(ServiceRequest, DecisionsMapToStoreOutcomes) {
  EXPECT_EQ(
      parse_decision(Json{{"occupant_id", 3}, {"action", "confirm"}, {"subject_id", 9}}).outcome,
      store::OfficerOutcome::kConfirmed);
  EXPECT_EQ(parse_decision(Json{{"occupant_id", 3}, {"action", "override"}}).outcome,
            store::OfficerOutcome::kRejected);
  EXPECT_EQ(parse_decision(Json{{"occupant_id", 3}, {"action", "refer"}}).outcome,
            store::OfficerOutcome::kReferred);
}

TEST(ServiceRequest, VehicleEventAndQueries) {
  const auto p = parse_vehicle_event(Json{{"vehicle", "v0001"},
                                          {"lane", "L1"},
                                          {"direction", "exit"},
                                          {"documents", {{{"number", "P1"}, {"country", "MEX"}}}}});
  EXPECT_EQ(p.direction, "exit");
  ASSERT_EQ(p.documents.size(), 1u);
  EXPECT_EQ(p.documents[0]["type"], "passport");
  EXPECT_EQ(status_of([] { parse_vehicle_event(Json{{"vehicle", "../x"}, {"lane", "L1"}}); }), 400);
  EXPECT_EQ(status_of([] {
              parse_vehicle_event(Json{{"vehicle", "v"}, {"lane", "L1"}, {"direction", "up"}});
            }),
            400);
  Params params{{"from", "2026-01-01"}, {"lane", "L1"}, {"outcome", "referred"}, {"limit", "5"}};
  const auto q = parse_crossing_query(params);
  EXPECT_EQ(q.from, parse_time("2026-01-01"));
  EXPECT_EQ(q.limit, 5);
  EXPECT_EQ(q.outcome, "referred");
  EXPECT_EQ(status_of([] { parse_crossing_query({{"limit", "5000"}}); }), 400);
  EXPECT_EQ(status_of([] { parse_crossing_query({{"from", "yesterday"}}); }), 400);
  EXPECT_EQ(status_of([] { parse_crossing_query({{"outcome", "maybe"}}); }), 400);
  EXPECT_EQ(status_of([] { parse_crossing_query({{"offset", "1e3"}}); }), 400);
}

TEST(ServiceRequest, ImageFieldsAreBase64WithASizeLimit) {
  EXPECT_EQ(parse_image_field(Json{{"a", "aGVsbG8="}}, "a", 100).size(), 5u);
  EXPECT_EQ(parse_image_field(Json{{"a", "data:image/jpeg;base64,aGVsbG8="}}, "a", 100).size(), 5u);
  EXPECT_EQ(status_of([] { parse_image_field(Json{{"a", "***"}}, "a", 100); }), 400);
  EXPECT_EQ(status_of([] { parse_image_field(Json{{"a", "aGVsbG8="}}, "a", 4); }), 413);
}

TEST(ServiceEvents, EverySubscriberGetsEveryEventInOrder) {
  EventHub hub;
  std::vector<std::shared_ptr<EventHub::Subscription>> subs;
  for (int i = 0; i < 10; ++i) subs.push_back(hub.subscribe());
  for (int i = 0; i < 100; ++i) hub.publish("tick", {{"i", i}});
  for (auto& s : subs) {
    for (int i = 0; i < 100; ++i) {
      const auto e = s->next(std::chrono::milliseconds(100));
      ASSERT_TRUE(e);
      EXPECT_EQ(e->data["i"], i);
      EXPECT_EQ(e->id, i + 1);
    }
    EXPECT_FALSE(s->next(std::chrono::milliseconds(1)));
  }
  const auto late = hub.subscribe(98);  // Last-Event-ID replay
  EXPECT_EQ(late->next(std::chrono::milliseconds(1))->id, 99);
  EXPECT_EQ(hub.subscribers(), 11u);
  hub.close();
  EXPECT_TRUE(subs[0]->closed());
  EXPECT_EQ(hub.publish("x", {}), 101);
}

TEST(ServiceEvents, SlowSubscriberDropsOldestNotOthers) {
  EventHub hub(4);
  auto slow = hub.subscribe();
  for (int i = 0; i < 10; ++i) hub.publish("tick", {{"i", i}});
  EXPECT_EQ(slow->dropped(), 6);
  EXPECT_EQ(slow->next(std::chrono::milliseconds(1))->data["i"], 6);
  EXPECT_EQ(Event({3, "t", {{"a", 1}}}).to_sse(), "id: 3\nevent: t\ndata: {\"a\":1}\n\n");
}

TEST(ServiceMetrics, PrometheusTextHasTheNamedSeries) {
  auto clock = std::make_shared<store::FakeClock>(*parse_time("2026-01-01T00:00:30Z"));
  Metrics m(clock);
  m.vehicle(240, 3, 1, 0.3, {"matched", "matched", "not_matched", "not_captured"});
  m.officer_decision("confirmed");
  m.http(200, 0.002);
  m.set_queue_depth(2);
  const auto text = m.prometheus();
  for (const char* s :
       {"laneface_frames_processed_total 240", "laneface_capture_rate 0.75",
        "laneface_queue_depth 2", "laneface_vehicle_latency_seconds_bucket{le=\"0.5\"} 1",
        "laneface_vehicle_latency_seconds_bucket{le=\"0.25\"} 0",
        "laneface_match_decisions_total{outcome=\"matched\"} 2",
        "laneface_officer_decisions_total{outcome=\"confirmed\"} 1",
        "laneface_http_requests_total{code=\"200\"} 1",
        "# TYPE laneface_frames_per_second gauge"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  }
  const auto series = m.series(10);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_DOUBLE_EQ(series[0]["capture_rate"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(series[0]["latency_ms_mean"].get<double>(), 300.0);
  EXPECT_EQ(series[0]["time"], "2026-01-01T00:00:00.000Z");
}

class ServiceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("laneface_service_unit_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    clock_ = std::make_shared<store::FakeClock>(*parse_time("2026-03-01T08:00:00Z"));
    store::StoreConfig c;
    c.path = dir_ / "db.sqlite";
    c.key = store::Key::parse(std::string(64, 'b'), "test");
    c.clock = clock_;
    store_ = store::open_store(c);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::shared_ptr<store::FakeClock> clock_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ServiceStoreTest, LoginSessionsExpireAndFailuresAreThrottledAndAudited) {
  AuthConfig config;
  config.cost = HashCost::minimum();
  config.session_ttl = std::chrono::minutes(30);
  config.max_login_failures = 3;
  Auth auth(*store_, clock_, config);
  auth.add_user("officer1", UserRole::kOfficer, "password-1", "test");
  EXPECT_THROW(auth.add_user("officer1", UserRole::kAdmin, "password-2", "test"), core::Error);

  const auto ok = auth.login("officer1", "password-1", "127.0.0.1");
  ASSERT_TRUE(ok.token);
  EXPECT_EQ(ok.principal.role, UserRole::kOfficer);
  const auto p = auth.authenticate(*ok.token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "officer1");
  EXPECT_FALSE(auth.authenticate(random_token()));
  EXPECT_FALSE(auth.authenticate("short"));
  // Only the hash is in the database.
  EXPECT_FALSE(store_->find_session(*ok.token));
  EXPECT_TRUE(store_->find_session(token_hash(*ok.token)));

  clock_->advance(std::chrono::minutes(31));
  EXPECT_FALSE(auth.authenticate(*ok.token));
  EXPECT_EQ(store_->delete_expired_sessions(clock_->now()), 1);

  for (int i = 0; i < 3; ++i) EXPECT_FALSE(auth.login("officer1", "wrong-pass", "10.0.0.9").token);
  const auto limited = auth.login("officer1", "password-1", "10.0.0.9");
  EXPECT_FALSE(limited.token);
  EXPECT_GT(limited.retry_after_s, 0);

  store::AuditQuery q;
  q.action = "login_failed";
  const auto failed = store_->audit_entries(q);
  EXPECT_EQ(failed.size(), 3u);
  for (const auto& e : failed) EXPECT_EQ(e.details.find("wrong-pass"), std::string::npos);
  q.action = "user_add";
  ASSERT_EQ(store_->audit_entries(q).size(), 1u);
  EXPECT_EQ(store_->audit_entries(q)[0].details.find("argon2"), std::string::npos);
  EXPECT_TRUE(store_->verify_audit().ok);
}

TEST_F(ServiceStoreTest, StandInRecordsAndListingsFilterAndPage) {
  store::Document d;
  d.number = "P100";
  d.country = "MEX";
  d.holder_name = "Ana Example";
  d.date_of_birth = *store::parse_date("1990-01-01");
  const auto doc = store_->enrol(d, std::nullopt, "test");
  const auto process = make_stand_in_processor(*store_);
  int captured = 0, decisions = 0;
  capture::Observer obs;
  obs.occupant_captured = [&](const Json&) { ++captured; };
  obs.decision_ready = [&](const Json&) { ++decisions; };
  for (int i = 0; i < 5; ++i) {
    capture::VehiclePass p;
    p.vehicle = "v" + std::to_string(i);
    p.lane = i < 3 ? "L1" : "L2";
    p.direction = i % 2 ? "exit" : "entry";
    p.time = "2026-03-01T0" + std::to_string(i) + ":00:00Z";
    p.documents = Json::array({{{"type", "passport"}, {"number", i == 4 ? "X9" : "P100"}}});
    const auto r = process(p, obs);
    EXPECT_TRUE(r.contains("crossing_id"));
    ASSERT_FALSE(r["occupants"].empty());
    EXPECT_EQ(r["occupants"][0]["match"]["outcome"], i == 4 ? "not_matched" : "matched");
    EXPECT_TRUE(r["occupants"][0]["photo_id"].is_number_integer());
  }
  EXPECT_EQ(captured, 5);
  EXPECT_GE(decisions, 5);

  store::CrossingQuery q;
  auto page = store_->list_crossings(q);
  EXPECT_EQ(page.total, 5);
  ASSERT_EQ(page.items.size(), 5u);
  EXPECT_EQ(page.items[0].crossing.lane, "L2");  // newest first
  q.lane = "L1";
  EXPECT_EQ(store_->list_crossings(q).total, 3);
  q.direction = store::Direction::kExit;
  EXPECT_EQ(store_->list_crossings(q).total, 1);
  q = {};
  q.document = "P100";
  EXPECT_EQ(store_->list_crossings(q).total, 4);
  q = {};
  q.outcome = "not_matched";
  EXPECT_EQ(store_->list_crossings(q).total, 1);
  q = {};
  q.from = parse_time("2026-03-01T01:00:00Z");
  q.to = parse_time("2026-03-01T03:00:00Z");
  EXPECT_EQ(store_->list_crossings(q).total, 2);
  q = {};
  q.limit = 2;
  q.offset = 4;
  page = store_->list_crossings(q);
  EXPECT_EQ(page.total, 5);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].crossing.time, parse_time("2026-03-01T00:00:00Z"));

  const auto rec = page.items[0];
  ASSERT_FALSE(rec.occupants.empty());
  const auto& o = rec.occupants[0];
  ASSERT_TRUE(o.match);
  EXPECT_EQ(o.match->outcome, store::MatchOutcome::kMatched);
  ASSERT_TRUE(o.document);
  EXPECT_EQ(o.document->id, doc.id);
  ASSERT_EQ(o.photo_ids.size(), 1u);
  EXPECT_EQ(store_->photo_occupant(o.photo_ids[0]), o.occupant.id);
  const auto j = store::to_json(rec);
  EXPECT_EQ(j["occupants"][0]["document"]["holder_name"], "Ana Example");

  store::OfficerDecision od;
  od.occupant_id = o.occupant.id;
  od.officer = "officer1";
  od.outcome = store::OfficerOutcome::kReferred;
  store_->record_officer_decision(od, "officer1");
  q = {};
  q.outcome = "referred";
  EXPECT_EQ(store_->list_crossings(q).total, 1);
  EXPECT_EQ(store_->crossing_record(rec.crossing.id)->occupants[0].officer_decisions.size(), 1u);
  EXPECT_EQ(store_->list_documents().size(), 1u);
}

}  // namespace
}  // namespace laneface::service
