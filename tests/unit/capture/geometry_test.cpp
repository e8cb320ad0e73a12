// Camera geometry and the geometric join (no models): constructed sightings of heads at known
// places in a vehicle moving at a known speed, seen by the simulator's nominal lane cameras.
#include "capture/geometry.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "capture/lane_config.hpp"
#include "capture/occupants.hpp"
#include "core/error.hpp"

namespace laneface::capture {
namespace {

const cv::Size kFrame(1280, 720);

std::map<std::string, CameraPose> nominal_cameras() {
  return {
      {"windshield", CameraPose::look_at({7.5, 0.3, 1.9}, {2.0, 0, 1.1}, 3400, kFrame)},
      {"driver_side", CameraPose::look_at({3.5, 3.4, 1.45}, {-0.5, 0.4, 1.15}, 2300, kFrame)},
      {"passenger_side", CameraPose::look_at({3.5, -3.4, 1.45}, {-0.5, -0.4, 1.15}, 2300, kFrame)},
      {"rear_side", CameraPose::look_at({2.5, 3.8, 2.0}, {-1.5, 0.45, 1.1}, 2600, kFrame)}};
}

// A head at `head` (world, frame 0) in a vehicle moving `speed` m/s along +X, seen by `camera`
// every 2nd frame of [from, to] at 15 fps: box centre and width as the simulator draws them
// (face 0.16 m, narrower when seen from the side). `jitter` px alternate in sign.
TrackSpan sighted(const std::string& id, const CameraPose& camera, cv::Vec3d head, double speed,
                  long from, long to, double jitter = 0) {
  TrackSpan t{id, from, to, {}};
  for (long f = from; f <= to; f += 2) {
    const cv::Vec3d p = head + cv::Vec3d(speed * double(f) / 15.0, 0, 0);
    double depth = 0;
    const cv::Point2d px = camera.project(p, &depth);
    cv::Vec3d to_cam = camera.position - p;
    to_cam[2] = 0;
    const double facing = std::max(0.26, cv::normalize(to_cam)[0]);
    const double w = 0.16 * camera.focal * (0.6 + 0.4 * facing) / depth;
    const double s = (f / 2) % 2 ? jitter : -jitter;
    t.points.push_back({f, float(px.x + s), float(px.y - s), float(w)});
  }
  return t;
}

TEST(CameraPose, RayThroughProjectionAndScaling) {
  const auto cams = nominal_cameras();
  const cv::Vec3d p(-0.6, 0.37, 1.25);
  for (const auto& [id, cam] : cams) {
    double depth = 0;
    const cv::Point2d px = cam.project(p, &depth);
    EXPECT_GT(depth, 0) << id;
    const cv::Vec3d d = cam.ray(px.x, px.y);
    // The ray from the camera through the pixel passes within 0.1 mm of the point.
    const cv::Vec3d e = p - cam.position;
    EXPECT_LT(cv::norm(e - e.dot(d) * d), 1e-4) << id;
    // Half the frame size, half the focal length: the same pixel in half-size coordinates.
    const CameraPose half = cam.scaled_to({640, 360});
    const cv::Point2d q = half.project(p);
    EXPECT_NEAR(q.x, px.x / 2, 1e-6) << id;
    EXPECT_NEAR(q.y, px.y / 2, 1e-6) << id;
  }
}

TEST(CameraPose, TwoCamerasTriangulateAPointBack) {
  const auto cams = nominal_cameras();
  const auto& a = cams.at("windshield");
  const auto& b = cams.at("driver_side");
  for (const cv::Vec3d& p : {cv::Vec3d(0.2, 0.37, 1.25), cv::Vec3d(-0.8, -0.4, 1.2)}) {
    const cv::Point2d pa = a.project(p), pb = b.project(p);
    const auto m = closest_points(a.position, a.ray(pa.x, pa.y), b.position, b.ray(pb.x, pb.y));
    ASSERT_TRUE(m);
    EXPECT_LT(m->gap, 1e-6);
    EXPECT_LT(cv::norm(m->point - p), 1e-3);  // 1 mm
  }
  // Parallel rays meet nowhere.
  EXPECT_FALSE(closest_points({0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 0, 0}));
}

TEST(VehicleGeometry, SpeedAndSeatPositionFromTwoCameras) {
  const auto cams = nominal_cameras();
  const double speed = 1.6;                  // m/s
  const cv::Vec3d driver(-1.5, 0.37, 1.25);  // world at frame 0
  const std::vector<TrackSpan> tracks{
      sighted("windshield", cams.at("windshield"), driver, speed, 0, 40, 1.5),
      sighted("driver_side", cams.at("driver_side"), driver, speed, 10, 44, 1.5)};
  GeometryOptions o;
  const auto v = estimate_speed(tracks, cams, 0, o);
  ASSERT_TRUE(v);
  EXPECT_NEAR(*v * 15, speed, 0.1 + 1e-9);  // the grid step
  std::vector<Constraint> c = vehicle_constraints(tracks[0], cams.at("windshield"), *v, 0, o);
  const auto more = vehicle_constraints(tracks[1], cams.at("driver_side"), *v, 0, o);
  c.insert(c.end(), more.begin(), more.end());
  const auto fit = fit_position(c);
  ASSERT_TRUE(fit);
  EXPECT_LT(cv::norm(fit->point - driver), 0.1);  // metres
  EXPECT_EQ(fit->n, tracks[0].points.size() + tracks[1].points.size());
}

JoinOptions geometry_join(double threshold) {
  JoinOptions o;
  o.cross_threshold = 2;  // appearance alone joins nothing here
  o.geometry_threshold = threshold;
  o.cameras = nominal_cameras();
  return o;
}

std::vector<std::vector<float>> flat_similarity(std::size_t n, float s) {
  std::vector<std::vector<float>> m(n, std::vector<float>(n, s));
  for (std::size_t i = 0; i < n; ++i) m[i][i] = -1;
  return m;
}

TEST(GeometryJoin, OnePersonOnTwoCamerasJoinsTwoPeopleStayApart) {
  const auto cams = nominal_cameras();
  const double speed = 1.4;
  const cv::Vec3d driver(-1.4, 0.37, 1.25), passenger(-1.4, -0.37, 1.23);
  // Driver: windshield (frontal) and driver_side; front passenger, 0.74 m away: windshield
  // and passenger_side. Their templates do not match across the views (similarity 0).
  const std::vector<TrackSpan> tracks{
      sighted("windshield", cams.at("windshield"), driver, speed, 0, 36, 1),
      sighted("windshield", cams.at("windshield"), passenger, speed, 0, 36, 1),
      sighted("driver_side", cams.at("driver_side"), driver, speed, 12, 44, 1),
      sighted("passenger_side", cams.at("passenger_side"), passenger, speed, 12, 44, 1)};
  const auto sim = flat_similarity(tracks.size(), 0.0f);
  const auto off = join_tracks(tracks, sim, geometry_join(0));
  EXPECT_EQ(off.size(), 4u);
  const auto on = join_tracks(tracks, sim, geometry_join(8));
  ASSERT_EQ(on.size(), 2u);
  EXPECT_EQ(on[0], (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(on[1], (std::vector<std::size_t>{1, 3}));
  // The template veto: clearly different faces are never joined by geometry.
  JoinOptions veto = geometry_join(8);
  veto.geometry_min_similarity = 0.1;
  EXPECT_EQ(join_tracks(tracks, sim, veto).size(), 4u);
  // Cameras without calibration take no part.
  JoinOptions no_side = geometry_join(8);
  no_side.cameras.erase("driver_side");
  no_side.cameras.erase("passenger_side");
  EXPECT_EQ(join_tracks(tracks, sim, no_side).size(), 4u);
}

TEST(GeometryJoin, PeopleAboutAMetreApartAreNotJoined) {
  const auto cams = nominal_cameras();
  const double speed = 1.8;
  // Each seen by one camera only, 0.8 m apart: across the car (driver / front passenger) and
  // along it (driver / the row-2 passenger behind, on the windshield's line of sight).
  struct Case {
    std::string cam_a, cam_b;
    cv::Vec3d a, b;
  };
  const std::vector<Case> cases{
      {"windshield", "passenger_side", {-1.4, 0.4, 1.25}, {-1.4, -0.4, 1.25}},
      {"driver_side", "passenger_side", {-2.3, 0.4, 1.25}, {-2.3, -0.4, 1.25}},
      {"windshield", "rear_side", {-1.4, 0.4, 1.25}, {-2.2, 0.4, 1.25}}};
  for (const auto& c : cases) {
    const std::vector<TrackSpan> tracks{sighted(c.cam_a, cams.at(c.cam_a), c.a, speed, 0, 30, 1),
                                        sighted(c.cam_b, cams.at(c.cam_b), c.b, speed, 6, 40, 1)};
    EXPECT_EQ(join_tracks(tracks, flat_similarity(2, 0.1f), geometry_join(8)).size(), 2u)
        << c.cam_a << " + " << c.cam_b;
    // The same person on both cameras does join.
    const std::vector<TrackSpan> one{sighted(c.cam_a, cams.at(c.cam_a), c.a, speed, 0, 30, 1),
                                     sighted(c.cam_b, cams.at(c.cam_b), c.a, speed, 6, 40, 1)};
    EXPECT_EQ(join_tracks(one, flat_similarity(2, 0.1f), geometry_join(8)).size(), 1u)
        << c.cam_a << " + " << c.cam_b;
  }
}

TEST(GeometryJoin, LineAngle) {
  EXPECT_NEAR(line_angle_deg({1, 0, 0}, {2, 0, 0}), 0, 1e-9);
  EXPECT_NEAR(line_angle_deg({1, 0, 0}, {-1, 0, 0}), 0, 1e-9);  // antiparallel: one line
  EXPECT_NEAR(line_angle_deg({1, 0, 0}, {0, 0, 3}), 90, 1e-9);
  EXPECT_NEAR(line_angle_deg({1, 1, 0}, {-1, 0, 0}), 45, 1e-9);
  EXPECT_EQ(line_angle_deg({0, 0, 0}, {1, 0, 0}), 0);
}

TEST(GeometryJoin, MinAngleKeepsSingleCameraGroupsOnParallelRaysApart) {
  const auto cams = nominal_cameras();
  const double speed = 1.5;
  const auto sim = flat_similarity(2, 0.1f);
  // Row 2, 0.8 m apart: the left passenger seen by driver_side only, the right one by
  // passenger_side only, each briefly (10 frames). The two cameras face each other across the
  // car at one height: one seat's rays from both lie in nearly one plane through the
  // direction of travel, and the fit of one point is decided by the face-width range alone.
  const std::vector<TrackSpan> apart{
      sighted("driver_side", cams.at("driver_side"), {-2.3, 0.4, 1.25}, speed, 0, 10, 1),
      sighted("passenger_side", cams.at("passenger_side"), {-2.3, -0.4, 1.25}, speed, 6, 16, 1)};
  JoinOptions o = geometry_join(8);
  EXPECT_EQ(join_tracks(apart, sim, o).size(), 1u);  // wrongly joined without the rule
  o.geometry_min_angle_deg = 25;
  EXPECT_EQ(join_tracks(apart, sim, o).size(), 2u);
  // In 3-D their rays cross at about 65 degrees (both cameras look back along the lane).
  JoinOptions full = o;
  full.geometry_angle_across_travel = false;
  EXPECT_EQ(join_tracks(apart, sim, full).size(), 1u);
  // Rays that do cross, across travel as in 3-D: the windshield's (from above and ahead) and a
  // side camera's, each group of one camera; the same person still joins.
  struct Case {
    std::string cam_a, cam_b;
    cv::Vec3d head;
  };
  const std::vector<Case> crossing{{"windshield", "driver_side", {-1.4, 0.37, 1.25}},
                                   {"windshield", "passenger_side", {-1.4, -0.37, 1.23}}};
  for (const auto& c : crossing) {
    const std::vector<TrackSpan> one{sighted(c.cam_a, cams.at(c.cam_a), c.head, speed, 0, 10, 1),
                                     sighted(c.cam_b, cams.at(c.cam_b), c.head, speed, 6, 16, 1)};
    EXPECT_EQ(join_tracks(one, sim, o).size(), 1u) << c.cam_a << " + " << c.cam_b;
    EXPECT_EQ(join_tracks(one, sim, full).size(), 1u) << c.cam_a << " + " << c.cam_b;
  }
  // Off (0), the rule keeps nothing apart.
  o.geometry_min_angle_deg = 0;
  EXPECT_EQ(join_tracks(apart, sim, o).size(), 1u);
}

TEST(GeometryJoin, CrossCameraVetoKeepsTwoPlacesApart) {
  const auto cams = nominal_cameras();
  const double speed = 1.6;
  // Driver (windshield) and front passenger (passenger_side), 0.8 m apart, whose templates
  // score 0.3: below the template threshold (0.35), above the cross-camera one (0.2), where
  // mutual best partners join.
  const cv::Vec3d driver(-1.4, 0.4, 1.25), passenger(-1.4, -0.4, 1.25);
  const std::vector<TrackSpan> two{
      sighted("windshield", cams.at("windshield"), driver, speed, 0, 30, 1),
      sighted("passenger_side", cams.at("passenger_side"), passenger, speed, 6, 40, 1)};
  JoinOptions o;
  o.cross_threshold = 0.2;
  o.cameras = cams;
  const auto sim = flat_similarity(2, 0.3f);
  std::vector<JoinStep> steps;
  EXPECT_EQ(join_tracks(two, sim, o, &steps).size(), 1u);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].pass, "cross_camera");
  EXPECT_NEAR(steps[0].score, 0.3, 1e-6);
  // With the veto, the misfit of one point for both forbids it.
  o.cross_geometry_veto = 8;
  EXPECT_EQ(join_tracks(two, sim, o).size(), 2u);
  // One person on both cameras still joins.
  const std::vector<TrackSpan> one{
      sighted("windshield", cams.at("windshield"), driver, speed, 0, 30, 1),
      sighted("driver_side", cams.at("driver_side"), driver, speed, 6, 40, 1)};
  steps.clear();
  EXPECT_EQ(join_tracks(one, sim, o, &steps).size(), 1u);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].pass, "cross_camera");
  // The template pass is not vetoed (a template above 0.35 joins), nor is anything without
  // calibration.
  EXPECT_EQ(join_tracks(two, flat_similarity(2, 0.5f), o).size(), 1u);
  o.cameras.clear();
  EXPECT_EQ(join_tracks(two, sim, o).size(), 1u);
}

TEST(GeometryGhosts, APersonStandingStillBesideAMovingVehicleIsFlagged) {
  const auto cams = nominal_cameras();
  const double speed = 1.4;
  const cv::Vec3d driver(-1.4, 0.37, 1.25), rear(-2.35, -0.45, 1.22);
  // A vendor between the lanes, 1.5 m out on the passenger side, and one on the far sidewalk.
  const cv::Vec3d vendor(0.2, -1.5, 1.65), far(1.0, 4.0, 1.7);
  std::vector<TrackSpan> tracks{
      sighted("windshield", cams.at("windshield"), driver, speed, 0, 36, 1.5),
      sighted("driver_side", cams.at("driver_side"), driver, speed, 10, 44, 1.5),
      sighted("passenger_side", cams.at("passenger_side"), rear, speed, 20, 50, 1.5),
      sighted("passenger_side", cams.at("passenger_side"), vendor, 0, 0, 50, 1.5),
      sighted("driver_side", cams.at("driver_side"), far, 0, 0, 30, 1.5)};
  const std::vector<std::vector<std::size_t>> groups{{0, 1}, {2}, {3}, {4}};
  EXPECT_EQ(still_groups(tracks, groups, cams, GeometryOptions{}, 20),
            (std::vector<bool>{false, false, true, true}));
  // A camera without a pose: its groups are never judged.
  auto some = cams;
  some.erase("passenger_side");
  EXPECT_EQ(still_groups(tracks, groups, some, GeometryOptions{}, 20),
            (std::vector<bool>{false, false, false, true}));
  // The vehicle stopped at the booth: everyone stands still, nobody is flagged.
  const std::vector<TrackSpan> stopped{
      sighted("windshield", cams.at("windshield"), driver, 0, 0, 36, 1.5),
      sighted("driver_side", cams.at("driver_side"), driver, 0, 10, 44, 1.5),
      sighted("passenger_side", cams.at("passenger_side"), vendor, 0, 0, 50, 1.5)};
  EXPECT_EQ(still_groups(stopped, {{0, 1}, {2}}, cams, GeometryOptions{}, 20),
            (std::vector<bool>{false, false}));
}

TEST(GeometrySeats, PositionsInTheVehicleGiveRowsAndSides) {
  const auto cams = nominal_cameras();
  const double speed = 1.2;
  // Driver and the row-2 passenger behind (0.95 m back, 0.08 m further out), each on two
  // cameras; their relative position comes back within 0.15 m.
  const cv::Vec3d driver(-1.4, 0.37, 1.25), rear(-2.35, 0.45, 1.22);
  const std::vector<TrackSpan> tracks{
      sighted("windshield", cams.at("windshield"), driver, speed, 0, 36, 1),
      sighted("driver_side", cams.at("driver_side"), driver, speed, 10, 44, 1),
      sighted("driver_side", cams.at("driver_side"), rear, speed, 20, 50, 1),
      sighted("rear_side", cams.at("rear_side"), rear, speed, 14, 46, 1)};
  const auto where = vehicle_positions(tracks, {{0, 1}, {2, 3}}, cams, GeometryOptions{});
  ASSERT_EQ(where.size(), 2u);
  ASSERT_TRUE(where[0] && where[1]);
  EXPECT_LT(cv::norm((*where[1] - *where[0]) - (rear - driver)), 0.15);
  // Without a pose for one of its cameras a group has no position.
  auto some = cams;
  some.erase("rear_side");
  EXPECT_FALSE(vehicle_positions(tracks, {{0, 1}, {2, 3}}, some, GeometryOptions{})[1]);

  // Seats: the widths said row 2 for the driver and row 1 for a rear passenger; positions
  // (X relative, Y to the driver's side, here a lane offset of -0.1 m) decide.
  std::vector<SeatCue> cues(5);
  const std::vector<cv::Vec3d> at{{0.0, 0.27, 1.3},
                                  {0.05, -0.47, 1.3},
                                  {-0.95, 0.33, 1.3},
                                  {-0.9, -0.08, 1.3},
                                  {-1.0, -0.55, 1.3}};
  for (std::size_t i = 0; i < cues.size(); ++i) cues[i].position = at[i];
  cues[0].row = 2;
  cues[2].row = 1;
  const auto seats = estimate_seats_geometric(cues);
  EXPECT_EQ(seats,
            (std::vector<std::string>{"driver", "front_passenger", "left", "middle", "right"}));
  EXPECT_EQ(cues[0].row, 1);
  EXPECT_EQ(cues[2].row, 2);
  // Without positions: estimate_seats' answer.
  std::vector<SeatCue> plain(1);
  plain[0].front_x = 0.8;
  EXPECT_EQ(estimate_seats_geometric(plain), estimate_seats(plain));
}

namespace fs = std::filesystem;

TEST(LaneConfigCalibration, TomlAndLaneJsonOverride) {
  const fs::path dir =
      fs::temp_directory_path() / ("laneface_geometry_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "lane.toml";
  std::ofstream(file) << "[lane]\njoin_geometry_threshold = 5\njoin_geometry_min_angle_deg = 25\n"
                         "join_geometry_angle_across_travel = false\n"
                         "[lane.cameras.windshield]\nposition = [7.5, 0.3, 1.9]\n"
                         "target = [2.0, 0.0, 1.1]\nfocal = 3400\nfocal_width = 1280\n";
  LaneConfig c = LaneConfig::load(file);
  EXPECT_DOUBLE_EQ(c.join_geometry_threshold, 5);
  EXPECT_DOUBLE_EQ(c.join_geometry_min_angle_deg, 25);
  EXPECT_FALSE(c.join_geometry_angle_across_travel);
  EXPECT_DOUBLE_EQ(LaneConfig{}.join_geometry_min_angle_deg, 25);  // as config/lane.toml
  EXPECT_DOUBLE_EQ(c.camera("windshield").focal, 3400);
  EXPECT_DOUBLE_EQ(c.camera("windshield").position[0], 7.5);
  EXPECT_DOUBLE_EQ(c.camera("driver_side").focal, 0);  // not calibrated
  const nlohmann::json lane = {
      {"width", 1280},
      {"cameras",
       {{{"id", "windshield"},
         {"file", "windshield.avi"},
         {"calibration",
          {{"position", {7.6, 0.25, 1.92}}, {"target", {2.0, 0.0, 1.1}}, {"focal", 3450}}}},
        {{"id", "driver_side"}, {"file", "driver_side.avi"}}}}};
  apply_lane_calibration(c, lane, "lane.json");
  EXPECT_DOUBLE_EQ(c.camera("windshield").focal, 3450);
  EXPECT_DOUBLE_EQ(c.camera("windshield").position[0], 7.6);
  EXPECT_EQ(c.camera("windshield").focal_width, 1280);
  EXPECT_DOUBLE_EQ(c.camera("driver_side").focal, 0);
  nlohmann::json bad = lane;
  bad["cameras"][0]["calibration"]["position"] = {1, 2};
  EXPECT_THROW(apply_lane_calibration(c, bad, "lane.json"), core::Error);
  std::ofstream(file) << "[lane]\n[lane.cameras.windshield]\nposition = [1, 2]\n";
  EXPECT_THROW(LaneConfig::load(file), core::Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace laneface::capture
