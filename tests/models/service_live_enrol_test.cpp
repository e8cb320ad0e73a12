// `laneface serve` with the real lane pipeline: a document enrolled through the API joins the
// live galleries at once. A simulated vehicle (MIT sample photos, `easy`, one photo per
// person) passes before its occupants' documents are enrolled: nobody is matched. The
// documents are then enrolled with POST /api/documents and the same vehicle passes again,
// without a restart: its occupants are matched to those documents.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/csv.hpp"
#include "service/face_stack.hpp"
#include "service/server.hpp"
#include "sim/face_library.hpp"
#include "sim/simulator.hpp"
#include "store/clock.hpp"
#include "support/test_support.hpp"

namespace laneface::service {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string base64_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t v = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) v |= std::uint8_t(bytes[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kB64[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kB64[v & 63] : '=';
  }
  return out;
}

// The matched occupants' document numbers of one processed vehicle (the latest result).
std::vector<std::string> matched_documents(LaneManager& lanes, const std::string& lane) {
  std::vector<std::string> out;
  const Json recent = lanes.recent(lane);
  if (!recent.is_array() || recent.empty()) return out;
  for (const auto& o : recent[0]["result"].value("occupants", Json::array())) {
    if (o.contains("match") && o["match"].value("outcome", "") == "matched")
      out.push_back(o["match"].value("document", ""));
  }
  return out;
}

TEST(ServiceModels, DocumentsEnrolledThroughTheApiAreMatchedWithoutARestart) {
  LANEFACE_REQUIRE_MODELS();
  if (!fs::exists(test::sample_image(1)))
    GTEST_SKIP() << "var/samples not fetched: run scripts/setup";
  const fs::path tmp = fs::temp_directory_path() / "laneface_service_live_enrol_test";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  {
    std::ofstream csv(tmp / "labels.csv");
    csv << "image,identity,face\n";
    const int faces[] = {3, 3, 3, 4, 5, 4};
    for (int i = 1; i <= 6; ++i)
      for (int k = 0; k < faces[i - 1]; ++k)
        csv << "sample" << i << ".jpg,s" << i << "_" << k << "," << k << "\n";
  }
  const auto& engine = test::shared_engine();
  const sim::FaceLibrary lib(test::sample_image(1).parent_path(), tmp / "labels.csv", 1);
  sim::SimOptions so;
  so.faces = test::sample_image(1).parent_path();
  so.labels = tmp / "labels.csv";
  so.out = tmp / "lane";
  so.vehicles = 1;
  so.preset = "easy";
  so.seed = 7;
  so.min_frames = 30;
  so.max_frames = 30;
  so.single_photo = true;
  so.lane = "L1";
  sim::Simulator(so, lib, sim::engine_faces(lib, engine)).write();

  store::StoreConfig sc;
  sc.path = tmp / "db.sqlite";
  sc.key = store::Key::parse(std::string(64, 'e'), "test");
  const auto db = store::open_store(sc);
  vision::EngineOptions eo;
  eo.manifest = test::manifest_path();
  FaceStack faces(eo, *db);
  ASSERT_EQ(faces.documents(), 0u);
  ServiceConfig c;
  c.port = 0;
  c.upload_dir = tmp / "uploads";
  c.auth.cost = HashCost::minimum();
  Service svc(c, *db, std::make_shared<store::SystemClock>(), faces.processor(),
              faces.biometrics());
  svc.auth().add_user("super1", store::UserRole::kSupervisor, "test-password-1", "test");
  const int port = svc.start();
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(120, 0);
  auto login = http.Post("/api/login", R"({"user":"super1","password":"test-password-1"})",
                         "application/json");
  ASSERT_TRUE(login);
  const httplib::Headers auth{
      {"Authorization", "Bearer " + Json::parse(login->body)["token"].get<std::string>()}};

  const auto lane = read_lane_dir(tmp / "lane");
  ASSERT_EQ(lane.vehicles.size(), 1u);
  const auto pass = read_vehicle_pass(lane, lane.vehicles[0]);
  ASSERT_FALSE(pass.documents.empty());

  // 1. Before enrolment: nobody is matched.
  ASSERT_GE(svc.lanes().submit(pass), 0);
  ASSERT_TRUE(svc.lanes().wait_idle(std::chrono::seconds(300)));
  const Json first = svc.lanes().recent("L1")[0];
  ASSERT_FALSE(first.contains("error")) << first.dump();
  ASSERT_GE(first["result"]["occupants"].size(), 1u) << first.dump();
  EXPECT_TRUE(matched_documents(svc.lanes(), "L1").empty());

  // 2. Enrol the vehicle's documents through the API (no restart).
  const auto table = core::read_csv(tmp / "lane" / "documents.csv");
  std::set<std::string> read_at_lane;
  for (const auto& d : pass.documents) read_at_lane.insert(d["number"].get<std::string>());
  int enrolled = 0;
  for (const auto& row : table.rows) {
    auto col = [&](const char* name) { return row.fields[table.column(name)]; };
    if (!read_at_lane.count(col("number"))) continue;
    Json body{{"type", col("type")},
              {"number", col("number")},
              {"country", col("country")},
              {"name", col("name")},
              {"date_of_birth", col("date_of_birth")},
              {"citizenship", col("citizenship")},
              {"portrait", base64_file(tmp / "lane" / "documents" / col("portrait"))}};
    if (!col("admitted_until").empty()) body["admitted_until"] = col("admitted_until");
    auto r = http.Post("/api/documents", auth, body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    EXPECT_EQ(Json::parse(r->body)["galleries"], Json({"port", "lane"})) << r->body;
    ++enrolled;
  }
  ASSERT_EQ(enrolled, static_cast<int>(read_at_lane.size()));
  EXPECT_EQ(faces.documents(), read_at_lane.size());

  // 3. The same vehicle again: its occupants are matched to the documents just enrolled.
  auto again = pass;
  again.vehicle = "v0001b";
  ASSERT_GE(svc.lanes().submit(again), 0);
  ASSERT_TRUE(svc.lanes().wait_idle(std::chrono::seconds(300)));
  const auto matched = matched_documents(svc.lanes(), "L1");
  std::printf("{\"test\":\"service_live_enrol\",\"documents\":%zu,\"matched_after\":%zu}\n",
              read_at_lane.size(), matched.size());
  ASSERT_GE(matched.size(), 1u) << svc.lanes().recent("L1")[0].dump();
  for (const auto& number : matched) EXPECT_TRUE(read_at_lane.count(number)) << number;
  svc.stop();
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace laneface::service
