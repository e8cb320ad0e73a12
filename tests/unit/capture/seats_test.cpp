// Seat estimation from where occupants were seen, and the lane bench's loss diagnosis (no
// models).
#include <gtest/gtest.h>

#include "capture/lane_bench.hpp"
#include "capture/occupants.hpp"

namespace laneface::capture {
namespace {

SeatCue front(double x, int row = 1) {
  SeatCue c;
  c.row = row;
  c.front_x = x;
  c.front_centre = 0.54;
  return c;
}

SeatCue sides(int row, double driver_w, double passenger_w) {
  SeatCue c;
  c.row = row;
  c.driver_width = driver_w;
  c.passenger_width = passenger_w;
  return c;
}

TEST(Seats, FrontRowByWindshieldPosition) {
  // The driver appears right of centre; two front-row faces: the further right drives.
  auto s = estimate_seats({front(0.7), front(0.3)});
  EXPECT_EQ(s, (std::vector<std::string>{"driver", "front_passenger"}));
  s = estimate_seats({front(0.3)});
  EXPECT_EQ(s, (std::vector<std::string>{"front_passenger"}));
  // Both right of centre: only one driver.
  s = estimate_seats({front(0.6), front(0.8)});
  EXPECT_EQ(s, (std::vector<std::string>{"front_passenger", "driver"}));
  // Mirrored lane (driver left of centre in the front camera).
  s = estimate_seats({front(0.3)}, false);
  EXPECT_EQ(s, (std::vector<std::string>{"driver"}));
}

TEST(Seats, RearRowsByNearSide) {
  const auto s = estimate_seats(
      {sides(2, 60, 45), sides(2, 44, 56), sides(2, 60, 58), sides(3, 50, 0), front(0.55, 2)});
  EXPECT_EQ(s, (std::vector<std::string>{"left", "right", "middle", "left", "middle"}));
  // Row 1 without the front camera: the near side.
  EXPECT_EQ(estimate_seats({sides(1, 50, 62)})[0], "front_passenger");
  EXPECT_EQ(estimate_seats({sides(1, 62, 50)})[0], "driver");
}

TEST(JoinTracks, CrossCameraMutualBest) {
  // A and D on the windshield at once; B and C on the side cameras. All pairs below the
  // join threshold; the cross-camera pass pairs the mutual best partners.
  const std::vector<TrackSpan> t{{"windshield", 0, 30},
                                 {"driver_side", 5, 40},
                                 {"passenger_side", 5, 40},
                                 {"windshield", 0, 30}};
  const std::vector<std::vector<float>> sim{{1, 0.25f, 0.1f, -1},
                                            {0.25f, 1, 0.05f, 0.12f},
                                            {0.1f, 0.05f, 1, 0.22f},
                                            {-1, 0.12f, 0.22f, 1}};
  EXPECT_EQ(join_tracks(t, sim, 0.35).size(), 4u);
  const auto g = join_tracks(t, sim, 0.35, 0.2);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(g[1], (std::vector<std::size_t>{2, 3}));
  // Above every pair: nothing joins.
  EXPECT_EQ(join_tracks(t, sim, 0.35, 0.3).size(), 4u);
}

TEST(LaneBenchDiagnosis, FailureRequirement) {
  EXPECT_EQ(failure_requirement("yaw angle 41.2° exceeds \u00b130°"), "yaw angle");
  EXPECT_EQ(failure_requirement("sharpness 3.1 below 6.5"), "sharpness");
  EXPECT_EQ(failure_requirement("eye visibility cannot be assessed: no landmarks"),
            "eye visibility");
  EXPECT_EQ(failure_requirement("inter-eye distance -3 below 24"), "inter-eye distance");
}

TEST(LaneBenchDiagnosis, CausesDuplicatesAndSeats) {
  const auto truth = nlohmann::json::parse(R"({"occupants": [
      {"id": 0, "row": 1, "seat": "driver"}, {"id": 1, "row": 1, "seat": "front_passenger"},
      {"id": 2, "row": 2, "seat": "left"}, {"id": 3, "row": 2, "seat": "right"},
      {"id": 4, "row": 2, "seat": "middle"}, {"id": 5, "row": 3, "seat": "left"}]})");
  std::vector<DiagnosedOccupant> out(5);
  out[0] = {{{0, 10}, {2, 1}}, true, {}, {"windshield", "driver_side"}, 1, "driver"};
  out[1] = {{{0, 4}}, false, {}, {"passenger_side"}, 2, "right"};  // split across cameras
  out[2] = {{{1, 5}},       false, {"yaw angle 41° exceeds \u00b130°"},
            {"windshield"}, 1,     "front_passenger"};
  out[3] = {{{3, 6}}, true, {}, {"rear_side"}, 2, "left"};  // right row, wrong seat
  out[4] = {{}, false, {}, {"rear_side"}, 2, "middle"};     // nobody
  const auto d = diagnose_vehicle(truth, out, {{{4, 5}}}, {{{5, 2}}});
  EXPECT_EQ(d.cause, (std::vector<std::string>{"captured", "failed_profile", "merged", "captured",
                                               "rejected_as_ghost", "short_track"}));
  EXPECT_EQ(d.failed_requirements, (std::vector<std::string>{"yaw angle"}));
  EXPECT_EQ(d.duplicates_cross_camera, 1);
  EXPECT_EQ(d.duplicates_same_camera, 0);
  EXPECT_EQ(d.seat_scored, 3);
  EXPECT_EQ(d.row_correct, 3);
  EXPECT_EQ(d.seat_correct, 2);
}

}  // namespace
}  // namespace laneface::capture
