// Scoring of lane results on ground truth (no models): attribution of sightings to truth
// faces and the per-vehicle counts behind capture, count accuracy and ghost rate.
#include "capture/lane_bench.hpp"

#include <gtest/gtest.h>

namespace laneface::capture {
namespace {

nlohmann::json truth() {
  return nlohmann::json::parse(R"({
    "vehicle": "v0001", "frames": 60,
    "occupants": [{"id": 0, "identity": "1", "row": 1, "seat": "driver", "enrolled": true, "document": "P1"},
                  {"id": 1, "identity": "2", "row": 2, "seat": "left", "enrolled": false}],
    "ghosts": [{"id": 0, "kind": "bystander", "identity": "3"}],
    "boxes": [
      {"camera": "ws", "frame": 10, "who": "occupant", "id": 0, "box": [100, 100, 80, 80], "visible": 1},
      {"camera": "ws", "frame": 12, "who": "occupant", "id": 0, "box": [110, 100, 80, 80], "visible": 1},
      {"camera": "side", "frame": 10, "who": "occupant", "id": 1, "box": [400, 200, 50, 50], "visible": 0.9},
      {"camera": "side", "frame": 10, "who": "ghost", "id": 0, "box": [900, 300, 40, 40], "visible": 1}
    ]})");
}

core::Box b(float x, float y, float w) { return {x, y, x + w, y + w}; }

TEST(LaneBench, AttributesSightingsByOverlapVotes) {
  const auto t = truth();
  EXPECT_EQ(attribute({{"ws", 10, b(102, 98, 78)}, {"ws", 12, b(112, 101, 80)}}, t).kind,
            Attribution::Kind::kOccupant);
  const auto g = attribute({{"side", 10, b(902, 301, 38)}}, t);
  EXPECT_EQ(g.kind, Attribution::Kind::kGhost);
  EXPECT_EQ(g.id, 0);
  // Wrong camera, wrong frame or no overlap: nothing.
  EXPECT_EQ(attribute({{"side", 12, b(100, 100, 80)}}, t).kind, Attribution::Kind::kNothing);
  EXPECT_EQ(attribute({{"ws", 10, b(600, 600, 80)}}, t).kind, Attribution::Kind::kNothing);
  // Majority wins.
  const auto m = attribute(
      {{"side", 10, b(400, 200, 50)}, {"ws", 10, b(100, 100, 80)}, {"ws", 12, b(110, 100, 80)}}, t);
  EXPECT_EQ(m.kind, Attribution::Kind::kOccupant);
  EXPECT_EQ(m.id, 0);
}

TEST(LaneBench, ScoresCaptureCountAndGhosts) {
  const auto t = truth();
  using K = Attribution::Kind;
  // Both captured, exact count.
  auto s = score_vehicle(t, {{{K::kOccupant, 0}, true}, {{K::kOccupant, 1}, true}});
  EXPECT_TRUE(s.all_captured());
  EXPECT_TRUE(s.count_correct());
  EXPECT_EQ(s.ghosts, 0);
  EXPECT_EQ(s.truth_ghosts, 1);
  // One not captured (failed the profile), the bystander taken as an occupant.
  s = score_vehicle(
      t, {{{K::kOccupant, 0}, true}, {{K::kOccupant, 1}, false}, {{K::kGhost, 0}, true}});
  EXPECT_FALSE(s.all_captured());
  EXPECT_EQ(s.captured_occupants, 1);
  EXPECT_FALSE(s.count_correct());
  EXPECT_EQ(s.ghosts, 1);
  EXPECT_EQ(s.ghosts_accepted, 1);
  EXPECT_EQ(s.submitted, 2);
  EXPECT_EQ(s.submitted_passed, 1);
  // A person split in two: a duplicate, count wrong, still captured.
  s = score_vehicle(
      t, {{{K::kOccupant, 0}, true}, {{K::kOccupant, 0}, false}, {{K::kOccupant, 1}, true}});
  EXPECT_TRUE(s.all_captured());
  EXPECT_EQ(s.duplicates, 1);
  EXPECT_FALSE(s.count_correct());
  // Nobody found.
  s = score_vehicle(t, {});
  EXPECT_EQ(s.captured_occupants, 0);
  EXPECT_EQ(s.counted, 0);
}

}  // namespace
}  // namespace laneface::capture
