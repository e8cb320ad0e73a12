// Per-camera tracking, cross-camera joining, session splitting and row estimates on synthetic
// tracks (no models).
#include "capture/tracker.hpp"

#include <gtest/gtest.h>

#include "capture/occupants.hpp"

namespace laneface::capture {
namespace {

core::Box box_at(float cx, float cy, float w) {
  return {cx - w / 2, cy - w / 2, cx + w / 2, cy + w / 2};
}

TEST(Tracker, FollowsTwoMovingFacesThroughAStride) {
  Tracker t("windshield");
  // Two faces moving right at 12 px/frame, detected every 2nd frame.
  for (long f = 0; f < 30; f += 2) {
    t.update(f, {{box_at(100 + 12.0f * f, 300, 80), 0.9f, {}, int(f)},
                 {box_at(500 + 12.0f * f, 320, 70), 0.9f, {}, int(1000 + f)}});
  }
  const auto tracks = t.finish();
  ASSERT_EQ(tracks.size(), 2u);
  for (const auto& tr : tracks) {
    EXPECT_EQ(tr.observations.size(), 15u);
    EXPECT_NEAR(tr.velocity().x, 12.0f, 0.01f);
    EXPECT_NEAR(tr.velocity().y, 0.0f, 0.01f);
  }
  // Payloads stay with their face.
  EXPECT_LT(tracks[0].observations.back().payload, 1000);
  EXPECT_GE(tracks[1].observations.back().payload, 1000);
}

TEST(Tracker, FastFaceWithoutOverlapStillLinksAndGapEndsTrack) {
  TrackerOptions o;
  o.max_gap = 4;
  Tracker t("side", o);
  // 15 px/frame with 60 px boxes, stride 3: 45 px per step, IoU 0.14 with the last box; the
  // close-centre rule links the second detection, the prediction the later ones.
  for (long f = 0; f <= 12; f += 3) t.update(f, {{box_at(100 + 15.0f * f, 200, 60), 0.9f, {}, -1}});
  // A gap of 10 frames: a new track.
  t.update(22, {{box_at(100 + 15.0f * 22, 200, 60), 0.9f, {}, -1}});
  const auto tracks = t.finish();
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].observations.size(), 5u);
  EXPECT_EQ(tracks[1].observations.size(), 1u);
}

TEST(Tracker, AppearanceBreaksTiesBetweenCrossingFaces) {
  TrackerOptions o;
  o.appearance_weight = 1.0f;
  Tracker t("cam", o);
  const std::vector<float> red = {1, 0, 0, 0}, blue = {0, 0, 0, 1};
  t.update(0, {{box_at(100, 100, 50), 0.9f, red, 0}, {box_at(130, 100, 50), 0.9f, blue, 1}});
  // Next frame the two boxes swap places; only the colours tell who is who.
  t.update(1, {{box_at(130, 100, 50), 0.9f, red, 2}, {box_at(100, 100, 50), 0.9f, blue, 3}});
  const auto tracks = t.finish();
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].observations[1].payload, 2);
  EXPECT_EQ(tracks[1].observations[1].payload, 3);
  EXPECT_FLOAT_EQ(histogram_similarity(red, red), 1.0f);
  EXPECT_FLOAT_EQ(histogram_similarity(red, blue), 0.0f);
}

TEST(Sessions, SplitByGapsInPresence) {
  // Vehicle A: frames 0-50 (two cameras), vehicle B: 70-120; gap 15 frames.
  const std::vector<TrackSpan> spans = {
      {"ws", 0, 40}, {"side", 10, 50}, {"ws", 70, 100}, {"side", 90, 120}, {"ws", 45, 52}};
  const auto s = split_sessions(spans, 15);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], (std::vector<std::size_t>{0, 1, 4}));
  EXPECT_EQ(s[1], (std::vector<std::size_t>{2, 3}));
  // A smaller gap tolerance does not split a vehicle whose tracks overlap.
  EXPECT_EQ(split_sessions(spans, 0).size(), 2u);
  // A larger one merges the two vehicles.
  EXPECT_EQ(split_sessions(spans, 30).size(), 1u);
  EXPECT_TRUE(split_sessions({}, 5).empty());
}

TEST(Joiner, JoinsAcrossCamerasButNeverTwoFacesOfOneCameraAtOnce) {
  // Tracks 0, 1: windshield, same time (driver, passenger). 2: driver_side, driver.
  // 3: windshield, later fragment of the driver.
  const std::vector<TrackSpan> spans = {{"windshield", 0, 30},
                                        {"windshield", 0, 30},
                                        {"driver_side", 10, 40},
                                        {"windshield", 35, 50}};
  std::vector<std::vector<float>> sim(4, std::vector<float>(4, 0.0f));
  auto set = [&](int a, int b, float v) { sim[a][b] = sim[b][a] = v; };
  set(0, 1, 0.9f);  // even a look-alike cannot be the same person: same camera, same time
  set(0, 2, 0.7f);
  set(0, 3, 0.8f);
  set(2, 3, 0.6f);
  set(1, 2, 0.1f);
  set(1, 3, 0.05f);
  const auto g = join_tracks(spans, sim, 0.35);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], (std::vector<std::size_t>{0, 2, 3}));
  EXPECT_EQ(g[1], (std::vector<std::size_t>{1}));
  // Below the threshold nothing joins.
  EXPECT_EQ(join_tracks(spans, sim, 0.95).size(), 4u);
}

TEST(Rows, FromCameraRowsAndFaceWidth) {
  CameraGeometry ws;
  ws.rows = {1};
  EXPECT_EQ(estimate_row(ws, 30), 1);
  CameraGeometry rear;
  rear.rows = {2, 3};
  rear.row_widths = {70, 45};
  EXPECT_EQ(estimate_row(rear, 90), 2);
  EXPECT_EQ(estimate_row(rear, 50), 3);
  EXPECT_EQ(estimate_row(rear, 20), 3);
}

}  // namespace
}  // namespace laneface::capture
