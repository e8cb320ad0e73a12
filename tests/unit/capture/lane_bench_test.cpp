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

TEST(LaneBench, TracesTracksTheirTruthAndJoinPass) {
  // One output occupant made of a windshield track of occupant 0 and a side track of
  // occupant 1 joined by the cross-camera pass: occupant 1 is "merged".
  VehicleResult r;
  r.json = nlohmann::json::parse(
      R"({"vehicle": "v0001", "occupants": [{"captured": true, "cameras": ["side", "ws"]}]})");
  const std::vector<Sighting> ws{{"ws", 10, b(100, 100, 80)}, {"ws", 12, b(110, 100, 80)}};
  const std::vector<Sighting> side{{"side", 10, b(400, 200, 50)}};
  r.joined_tracks = {ws, side};
  r.occupants.resize(1);
  r.occupants[0].sightings = {ws[0], ws[1], side[0]};
  r.join = nlohmann::json::parse(R"({
    "tracks": [{"camera": "ws", "first": 10, "last": 12, "occupant": 0},
               {"camera": "side", "first": 10, "last": 10, "occupant": 0}],
    "steps": [{"pass": "cross_camera", "a": [0], "b": [1], "score": 0.25}],
    "similarity": [[-1, 0.25], [0.25, -1]]})");
  const auto j = trace_vehicle(truth(), r);
  EXPECT_EQ(j["vehicle"], "v0001");
  EXPECT_EQ(j["truth_occupants"], 2);
  EXPECT_EQ(j["occupants_out"], 1);
  EXPECT_EQ(j["causes"]["o0"], "captured");
  EXPECT_EQ(j["causes"]["o1"], "merged");
  ASSERT_EQ(j["tracks"].size(), 2u);
  EXPECT_EQ(j["tracks"][0]["detections"], 2);
  EXPECT_EQ(j["tracks"][0]["truth"], nlohmann::json({{"o0", 2}}));
  EXPECT_EQ(j["tracks"][1]["truth"], nlohmann::json({{"o1", 1}}));
  EXPECT_EQ(j["tracks"][1]["joined_by"], "cross_camera");
  EXPECT_EQ(j["tracks"][1]["occupant"], 0);
  EXPECT_EQ(j["tracks"][0]["points"][0], nlohmann::json({10, 140.0, 140.0, 80.0}));
  ASSERT_EQ(j["occupants"].size(), 1u);
  EXPECT_EQ(j["occupants"][0]["truth"], "o0");
  EXPECT_EQ(j["occupants"][0]["votes"], nlohmann::json({{"o0", 2}, {"o1", 1}}));
  EXPECT_EQ(j["steps"][0]["score"], 0.25);
  EXPECT_EQ(j["duplicates_cross_camera"], 0);
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
