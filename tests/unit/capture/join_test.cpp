// Joining by geometry (a track broken in two on one camera) and the tracker's handling of a
// face seen once, on constructed tracks with known answers (no models).
#include <gtest/gtest.h>

#include "capture/occupants.hpp"
#include "capture/tracker.hpp"

namespace laneface::capture {
namespace {

// A track on `camera` moving at (vx, vy) px per frame from (x0, y0) at frame `from`, seen
// every 2nd frame up to `to`, faces `w` px wide.
TrackSpan moving(const std::string& camera, long from, long to, float x0, float y0, float vx,
                 float vy = 0, float w = 50) {
  TrackSpan t{camera, from, to, {}};
  for (long f = from; f <= to; f += 2) {
    t.points.push_back({f, x0 + vx * float(f - from), y0 + vy * float(f - from), w});
  }
  return t;
}

TEST(ContinuationError, StraightPathAcrossAGapAndOffsets) {
  // -25 px/frame; a gap of 10 frames (an occlusion) and the path goes on: error ~0.
  const auto a = moving("driver_side", 0, 10, 1000, 300, -25);
  const auto b = moving("driver_side", 20, 30, 1000 - 25 * 20, 300, -25);
  ASSERT_TRUE(continuation_error(a, b));
  EXPECT_NEAR(*continuation_error(a, b), 0.0, 1e-6);
  // Three face widths further along (the next person behind on the same path).
  const auto c = moving("driver_side", 20, 30, 1000 - 25 * 20 + 150, 300, -25);
  EXPECT_NEAR(*continuation_error(a, c), 3.0, 1e-6);
  // Order matters (b starts after a ends), and so do the camera and overlap.
  EXPECT_FALSE(continuation_error(b, a));
  EXPECT_FALSE(continuation_error(a, moving("passenger_side", 20, 30, 500, 300, -25)));
  EXPECT_FALSE(continuation_error(a, moving("driver_side", 8, 30, 800, 300, -25)));
  // A one-point track takes the other's velocity.
  TrackSpan one{"driver_side", 20, 20, {{20, 1000 - 25 * 20, 300, 50}}};
  EXPECT_NEAR(*continuation_error(a, one), 0.0, 1e-6);
  // No geometry: no answer.
  EXPECT_FALSE(continuation_error(TrackSpan{"driver_side", 0, 10, {}}, one));
}

TEST(JoinTracks, MotionJoinsABrokenTrackOnly) {
  // One person's track on the driver side broken by a pillar (0-10, 20-30), a second person
  // seen at the same time 4 face widths behind (0-30), and the windshield track of the first.
  // The two halves' templates disagree (a turned head): 0.1, below every threshold.
  const std::vector<TrackSpan> t{moving("driver_side", 0, 10, 1000, 300, -25),
                                 moving("driver_side", 20, 30, 500, 300, -25),
                                 moving("driver_side", 0, 30, 1200, 300, -25),
                                 moving("windshield", 0, 30, 800, 200, 2, 0, 80)};
  const std::vector<std::vector<float>> sim{
      {1, 0.1f, 0.0f, 0.6f}, {0.1f, 1, 0.05f, 0.1f}, {0.0f, 0.05f, 1, 0.0f}, {0.6f, 0.1f, 0.0f, 1}};
  JoinOptions o;
  // Off: the broken half stays a person of its own.
  auto g = join_tracks(t, sim, o);
  EXPECT_EQ(g, (std::vector<std::vector<std::size_t>>{{0, 3}, {1}, {2}}));
  // On: the halves join; the person behind (overlapping in time) never does.
  o.motion_tolerance = 1.0;
  g = join_tracks(t, sim, o);
  EXPECT_EQ(g, (std::vector<std::vector<std::size_t>>{{0, 1, 3}, {2}}));
  // Templates that clearly disagree veto the motion join.
  o.motion_min_similarity = 0.2;
  EXPECT_EQ(join_tracks(t, sim, o).size(), 3u);
  // A gap longer than motion_max_gap is not bridged.
  o.motion_min_similarity = -1;
  o.motion_max_gap = 5;
  EXPECT_EQ(join_tracks(t, sim, o).size(), 3u);
}

TEST(JoinTracks, RecordsEachMergeWithItsPass) {
  // As above: the windshield track joins the first half by template (0.6), then the second
  // half joins by motion (the path continues exactly: error 0).
  const std::vector<TrackSpan> t{moving("driver_side", 0, 10, 1000, 300, -25),
                                 moving("driver_side", 20, 30, 500, 300, -25),
                                 moving("driver_side", 0, 30, 1200, 300, -25),
                                 moving("windshield", 0, 30, 800, 200, 2, 0, 80)};
  const std::vector<std::vector<float>> sim{
      {1, 0.1f, 0.0f, 0.6f}, {0.1f, 1, 0.05f, 0.1f}, {0.0f, 0.05f, 1, 0.0f}, {0.6f, 0.1f, 0.0f, 1}};
  JoinOptions o;
  o.motion_tolerance = 1.0;
  std::vector<JoinStep> steps;
  const auto g = join_tracks(t, sim, o, &steps);
  EXPECT_EQ(g, (std::vector<std::vector<std::size_t>>{{0, 1, 3}, {2}}));
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].pass, "template");
  EXPECT_EQ(steps[0].a, (std::vector<std::size_t>{0}));
  EXPECT_EQ(steps[0].b, (std::vector<std::size_t>{3}));
  EXPECT_NEAR(steps[0].score, 0.6, 1e-6);
  EXPECT_EQ(steps[1].pass, "motion");
  EXPECT_EQ(steps[1].a, (std::vector<std::size_t>{0, 3}));
  EXPECT_EQ(steps[1].b, (std::vector<std::size_t>{1}));
  EXPECT_NEAR(steps[1].score, 0.0, 1e-6);
  // The same groups without a log.
  EXPECT_EQ(join_tracks(t, sim, o), g);
}

TEST(JoinTracks, MotionDoesNotJoinTheNextPersonOnThePath) {
  // Person 1 leaves the frame at frame 10; person 2, on the same path, appears where person 1
  // was 8 frames later (the faces of a side camera pass one after another). Person 1 carried
  // on would be 200 px further: 4 face widths away.
  const std::vector<TrackSpan> t{moving("driver_side", 0, 10, 300, 300, -25),
                                 moving("driver_side", 18, 30, 50, 300, -25)};
  const std::vector<std::vector<float>> sim{{1, 0.0f}, {0.0f, 1}};
  JoinOptions o;
  o.motion_tolerance = 1.0;
  EXPECT_EQ(join_tracks(t, sim, o).size(), 2u);
}

core::Box box_at(float cx, float cy, float w) {
  return {cx - w / 2, cy - w / 2, cx + w / 2, cy + w / 2};
}

// Two faces pass along one path, 120 px apart, at -15 px/frame (a side camera); a third face
// elsewhere is seen on every detection frame. Face 1 is detected at frame 0 only; face 2 from
// frame 8 on, when it is where face 1 was at frame 0.
std::vector<Track> run_passing(TrackerOptions o) {
  Tracker t("driver_side", o);
  for (long f = 0; f <= 20; f += 2) {
    std::vector<Detection> d;
    d.push_back({box_at(1000 - 15.0f * f, 500, 50), 0.9f, {}, 100});  // the third face
    if (f == 0) d.push_back({box_at(700, 300, 50), 0.9f, {}, 1});
    if (f >= 8) d.push_back({box_at(820 - 15.0f * f, 300, 50), 0.9f, {}, 2});
    t.update(f, d);
  }
  return t.finish();
}

TEST(Tracker, FaceSeenOnceIsNotContinuedByTheNextPerson) {
  auto count_mixed = [](const std::vector<Track>& tracks) {
    int mixed = 0;
    for (const auto& tr : tracks) {
      bool one = false, two = false;
      for (const auto& o : tr.observations) one |= o.payload == 1, two |= o.payload == 2;
      mixed += one && two;
    }
    return mixed;
  };
  TrackerOptions o;
  o.motion_prior = false;
  // The old behaviour: face 1's track, predicted standing still, takes face 2's detection.
  EXPECT_EQ(count_mixed(run_passing(o)), 1);
  // Predicted moving with the third face: no.
  o.motion_prior = true;
  EXPECT_EQ(count_mixed(run_passing(o)), 0);
  // Or a face seen once waits at most 2 frames.
  o.motion_prior = false;
  o.single_max_gap = 2;
  EXPECT_EQ(count_mixed(run_passing(o)), 0);
  // Either way face 2 keeps one track of its own (frames 8-20: 7 detections).
  for (const bool prior : {true, false}) {
    o.motion_prior = prior;
    int longest = 0;
    for (const auto& tr : run_passing(o)) {
      if (tr.observations.back().payload == 2) longest = int(tr.observations.size());
    }
    EXPECT_EQ(longest, 7) << "motion_prior " << prior;
  }
}

}  // namespace
}  // namespace laneface::capture
