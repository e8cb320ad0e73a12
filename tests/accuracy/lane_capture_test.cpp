// End to end on a short simulated lane: `easy` preset, 10 vehicles from celeba-dev, processed
// with the repository's lane config and scored on the ground truth at lower bars than the
// issue's (those are for 200 realistic vehicles: `laneface bench lane`, README).
#include <gtest/gtest.h>

#include <filesystem>

#include "capture/document_gallery.hpp"
#include "capture/lane_bench.hpp"
#include "capture/lane_config.hpp"
#include "capture/lane_processor.hpp"
#include "quality/assessor.hpp"
#include "sim/face_library.hpp"
#include "sim/simulator.hpp"
#include "support/test_support.hpp"

namespace laneface::capture {
namespace {

namespace fs = std::filesystem;

TEST(LaneCapture, EasyTenVehiclesEndToEnd) {
  LANEFACE_REQUIRE_MODELS();
  LANEFACE_REQUIRE_DATA("celeba-dev");
  const fs::path data = *test::data_root() / "celeba-dev";
  const auto& engine = test::shared_engine();
  const fs::path dir =
      fs::temp_directory_path() / ("laneface_lane_easy_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    sim::FaceLibrary library(data, data / "labels.csv", 2);
    sim::SimOptions o;
    o.faces = data;
    o.labels = data / "labels.csv";
    o.out = dir;
    o.vehicles = 10;
    o.preset = "easy";
    o.seed = 7;
    sim::Simulator simulator(o, library, sim::engine_faces(library, engine));
    simulator.write();
  }
  const auto lane = read_lane_directory(dir);
  ASSERT_EQ(lane.vehicles.size(), 10u);
  const quality::Assessor assessor(
      quality::QualityConfig::load(quality::default_quality_config_path()),
      quality::Assessor::load_models(engine.manifest()));
  const auto gallery = enrol_csv_in_memory(dir / "documents.csv", dir / "documents", engine, 2);
  ASSERT_GT(gallery.size(), 0u);
  const LaneProcessor processor(engine, assessor, LaneConfig::load(default_lane_config_path()),
                                nullptr, &gallery);
  LaneBenchOptions bo;
  bo.faces = data;
  const auto r = run_lane_bench(processor, gallery, engine, lane, bo);
  fs::remove_all(dir);
  std::cout << r.dump() << std::endl;
  const auto& c = r["capture"];
  // Regression floors, set from the first measured run (capture 0.84, count 0.70), well below
  // issue 4's bars (0.97 / 0.95 on `realistic`), which the pipeline does not meet yet.
  EXPECT_GE(c["occupant_capture_rate"].get<double>(), 0.75);
  EXPECT_GE(c["occupant_count_accuracy"].get<double>(), 0.60);
  EXPECT_LE(c["ghost_rate"].get<double>(), 0.05);
  const auto& few = r["identification"]["captured_1_few"];
  if (few["mated"].get<int>() > 0) {
    EXPECT_GE(few["tir"].get<double>(), 0.75);
  }
  EXPECT_GT(r["speed"]["real_time_factor"].get<double>(), 0.0);
  // The loss breakdown accounts for every occupant not captured.
  long lost = 0;
  for (const auto& [cause, n] : r["losses"]["by_cause"].items()) lost += n.get<long>();
  EXPECT_EQ(lost, r["losses"]["lost_occupants"].get<long>());
  // Seats: 0.93 measured on a 30-vehicle realistic dev lane (seed 11); floor well below.
  EXPECT_GE(r["seats"]["seat_accuracy"].get<double>(), 0.6);
}

}  // namespace
}  // namespace laneface::capture
