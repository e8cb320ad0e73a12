// The lane simulator without models: portable random numbers, camera geometry, that the
// truth boxes cover what was drawn (a label channel rendered alongside), and that a seed
// fixes the whole lane.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "sim/random.hpp"
#include "sim/scene.hpp"
#include "sim/simulator.hpp"

namespace laneface::sim {
namespace {

namespace fs = std::filesystem;

// A face chip of one flat colour (so composited pixels can be recognised), box in the middle.
FaceCut flat_cut(cv::Scalar colour, float yaw = 0) {
  FaceCut c;
  c.chip = cv::Mat(384, 384, CV_8UC3, colour);
  c.box = {112, 92, 272, 292};  // 160 x 200
  c.points = {cv::Point2f(160, 170), cv::Point2f(224, 170), cv::Point2f(192 + yaw * 64, 210),
              cv::Point2f(165, 250), cv::Point2f(219, 250)};
  c.yaw = yaw;
  c.mask = head_mask(c.chip.size(), c.box, &c.fill);
  return c;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(SimRandom, SameSeedSameSequenceAndPortableValues) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
  // std::mt19937's sequence is fixed by the standard and the seeding mix is ours: these values
  // must be the same with every compiler and standard library.
  Rng g(1);
  EXPECT_EQ(g.next(), 3913401381u);
  EXPECT_EQ(g.next(), 3598158190u);
}

TEST(SimRandom, DistributionsStayInRangeWithTheRightMoments) {
  Rng r(7);
  double sum = 0, sum2 = 0;
  int lo = 0, hi = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const int k = r.integer(3, 5);
    ASSERT_GE(k, 3);
    ASSERT_LE(k, 5);
    lo += k == 3;
    hi += k == 5;
    const double z = r.normal();
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.03);
  EXPECT_NEAR(sum2 / n, 1.0, 0.04);
  EXPECT_NEAR(lo / double(n), 1 / 3.0, 0.02);
  EXPECT_NEAR(hi / double(n), 1 / 3.0, 0.02);
  std::vector<double> w{0.0, 3.0, 1.0};
  int count[3] = {0, 0, 0};
  for (int i = 0; i < 8000; ++i) ++count[r.weighted(w)];
  EXPECT_EQ(count[0], 0);
  EXPECT_NEAR(count[1] / 8000.0, 0.75, 0.02);
}

TEST(SimCamera, ProjectsThroughThePrincipalPointAndScalesWithDepth) {
  const Camera cam = Camera::look_at("c", {10, 0, 1}, {0, 0, 1}, 1000, {1280, 720});
  const cv::Point2d centre = cam.project_camera(cam.to_camera({5, 0, 1}));
  EXPECT_NEAR(centre.x, 640, 1e-6);
  EXPECT_NEAR(centre.y, 360, 1e-6);
  // 0.5 m to the camera's right (world -Y when looking along -X... the camera looks along -X,
  // so its right is +Y) at 5 m depth: 100 px right of centre; 0.5 m up: 100 px up.
  const cv::Point2d right = cam.project_camera(cam.to_camera({5, 0.5, 1}));
  EXPECT_NEAR(right.x, 740, 1e-6);
  const cv::Point2d up = cam.project_camera(cam.to_camera({5, 0, 1.5}));
  EXPECT_NEAR(up.y, 260, 1e-6);
  EXPECT_NEAR(cam.to_camera({5, 0, 1})[2], 5, 1e-9);
}

TEST(SimCamera, DefaultLaneCamerasSeeTheFrontRowAtLaneFaceSizes) {
  Rng rng(3);
  const auto cams = lane_cameras(4, {1280, 720}, rng);
  ASSERT_EQ(cams.size(), 4u);
  EXPECT_EQ(cams[0].id, "windshield");
  EXPECT_EQ(cams[3].id, "rear_side");
  // The driver's head (0.16 m face) at the capture point, seen by the windshield camera.
  const cv::Vec3d driver(0.7, 0.37, 1.25);
  const double px = 0.16 * cams[0].focal / cams[0].to_camera(driver)[2];
  EXPECT_GT(px, 55);
  EXPECT_LT(px, 140);
  EXPECT_THROW(lane_cameras(5, {1280, 720}, rng), core::Error);
}

VehicleScene two_seat_scene(const FaceCut& a, const FaceCut& b) {
  VehicleScene sc;
  sc.frames = 30;
  sc.speed = 1.5;
  sc.front_x0 = 0.7 - 1.0 + 2.15;
  sc.fx.tint_front = sc.fx.tint_rear = 1.0;
  sc.fx.reflection = 0;
  sc.fx.noise_sd = 0;
  sc.fx.blur_px = 0;
  Occupant d;
  d.id = 0;
  d.row = 1;
  d.seat = "driver";
  d.head = {-2.15, 0.37, 1.25};
  d.photos = {{0, 0, &a}};
  Occupant p = d;
  p.id = 1;
  p.seat = "front_passenger";
  p.head = {-2.15, -0.37, 1.25};
  p.photos = {{0, 1, &b}};
  sc.occupants = {d, p};
  return sc;
}

TEST(SimRender, TruthBoxesCoverTheCompositedFacePixels) {
  const FaceCut green = flat_cut({0, 255, 0}), magenta = flat_cut({255, 0, 255});
  Rng rng(5);
  const LaneRenderer renderer(lane_cameras(4, {1280, 720}, rng), 5);
  const VehicleScene sc = two_seat_scene(green, magenta);
  int checked = 0;
  for (std::size_t cam = 0; cam < 4; ++cam) {
    for (int f : {0, 15, 29}) {
      const RenderedFrame fr = renderer.render(sc, cam, f, {});
      ASSERT_EQ(fr.label.type(), CV_16U);
      for (const DrawnFace& d : fr.faces) {
        ASSERT_FALSE(d.ghost);
        EXPECT_GT(d.visible, 0.0);
        EXPECT_LE(d.visible, 1.0);
        const cv::Rect r = cv::Rect(cv::Rect2f(d.box.x1, d.box.y1, d.box.width(), d.box.height())) &
                           cv::Rect({}, fr.bgr.size());
        int labelled = 0, from_face = 0;
        for (int y = r.y; y < r.y + r.height; ++y) {
          for (int x = r.x; x < r.x + r.width; ++x) {
            if (fr.label.at<std::uint16_t>(y, x) != occupant_label(d.id)) continue;
            ++labelled;
            const cv::Vec3b p = fr.bgr.at<cv::Vec3b>(y, x);
            // Green for the driver, magenta for the passenger (tint 1, no noise or blur).
            const bool ok = d.id == 0 ? (p[1] > p[0] + 60 && p[1] > p[2] + 60)
                                      : (p[0] > p[1] + 60 && p[2] > p[1] + 60);
            from_face += ok;
          }
        }
        // Every labelled pixel shows the face (soft-mask edges aside: > 127 alpha).
        ASSERT_GT(labelled, 0);
        EXPECT_GE(from_face, 0.97 * labelled) << "camera " << cam << " frame " << f;
        // visible is the labelled share of the face area in the box.
        const double area = r.area() > 0 ? d.box.width() * d.box.height() * green.fill : 1;
        if (r.area() == static_cast<int>(d.box.width()) * static_cast<int>(d.box.height())) {
          EXPECT_NEAR(d.visible, std::min(1.0, labelled / area), 0.05);
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 6);  // both front seats are seen by several cameras
}

TEST(SimRender, AHandOrVisorLowersVisibility) {
  const FaceCut green = flat_cut({0, 255, 0});
  Rng rng(5);
  const LaneRenderer renderer(lane_cameras(1, {1280, 720}, rng), 5);
  VehicleScene sc = two_seat_scene(green, green);
  const auto free_frame = renderer.render(sc, 0, 20, {});
  sc.occupants[0].hand_from = 0;
  sc.occupants[0].hand_to = 29;
  sc.occupants[0].hand_offset = {0.0f, 0.1f};
  const auto hand_frame = renderer.render(sc, 0, 20, {});
  auto vis = [](const RenderedFrame& fr, int id) {
    for (const auto& d : fr.faces) {
      if (d.id == id && !d.ghost) return d.visible;
    }
    return 0.0;
  };
  EXPECT_GT(vis(free_frame, 0), 0.9);
  EXPECT_LT(vis(hand_frame, 0), vis(free_frame, 0) - 0.15);
  EXPECT_NEAR(vis(hand_frame, 1), vis(free_frame, 1), 1e-9);
}

class SimLane : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() /
        ("laneface_sim_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "faces");
    std::ofstream csv(root_ / "labels.csv");
    csv << "image,identity\n";
    for (int id = 0; id < 6; ++id) {
      for (int k = 0; k < 3; ++k) {
        const std::string name =
            std::string("p") + std::to_string(id) + "_" + std::to_string(k) + ".png";
        cv::imwrite((root_ / "faces" / name).string(),
                    cv::Mat(64, 64, CV_8UC3, cv::Scalar(40 * id, 80 * k, 200)));
        csv << name << "," << (100 + id) << "\n";
      }
    }
    csv << "missing.png,999\n";  // skipped: no such file
    csv << "p0_0.png,lonely\n";  // skipped: one photo only
    for (int i = 0; i < 18; ++i)
      cuts_.push_back(flat_cut(cv::Scalar(30 * (i % 6), 200, 40 * (i / 6)), 0.02f * (i % 5)));
  }
  void TearDown() override { fs::remove_all(root_); }

  FaceSource source() {
    return {[this](std::size_t i) -> const FaceCut* {
              return i == 4 ? nullptr : &cuts_[i % cuts_.size()];  // photo 4: "no face"
            },
            [this](std::size_t i) { return cuts_[i % cuts_.size()].chip.clone(); }};
  }

  SimOptions options(const std::string& out, std::uint64_t seed) {
    SimOptions o;
    o.faces = root_ / "faces";
    o.labels = root_ / "labels.csv";
    o.out = root_ / out;
    o.vehicles = 5;
    o.preset = "realistic";
    o.seed = seed;
    o.width = 320;
    o.height = 180;
    o.min_frames = 6;
    o.max_frames = 8;
    o.threads = 2;
    return o;
  }

  std::string truths(const fs::path& lane) {
    std::string all;
    for (int i = 1; i <= 5; ++i) {
      char id[8];
      std::snprintf(id, sizeof id, "v%04d", i);
      all += read_text(lane / "vehicles" / id / "truth.json");
    }
    return all;
  }

  fs::path root_;
  std::vector<FaceCut> cuts_;
};

TEST_F(SimLane, SameSeedSameLaneDifferentSeedDifferentLane) {
  const FaceLibrary lib(root_ / "faces", root_ / "labels.csv", 2);
  EXPECT_EQ(lib.identities().size(), 6u);
  EXPECT_EQ(lib.skipped_rows(), 1u);
  EXPECT_EQ(lib.skipped_identities(), 1u);
  const auto s1 = Simulator(options("a", 11), lib, source()).write();
  const auto s2 = Simulator(options("b", 11), lib, source()).write();
  const auto s3 = Simulator(options("c", 12), lib, source()).write();
  EXPECT_EQ(s1["vehicles"], 5);
  EXPECT_EQ(truths(root_ / "a"), truths(root_ / "b"));
  EXPECT_EQ(read_text(root_ / "a" / "documents.csv"), read_text(root_ / "b" / "documents.csv"));
  EXPECT_NE(truths(root_ / "a"), truths(root_ / "c"));
  EXPECT_EQ(s1["occupants"], s2["occupants"]);
  (void)s3;
}

TEST_F(SimLane, WritesTheLaneFormat) {
  const FaceLibrary lib(root_ / "faces", root_ / "labels.csv", 2);
  const auto summary = Simulator(options("lane", 3), lib, source()).write();
  const fs::path lane = root_ / "lane";
  const auto lj = nlohmann::json::parse(read_text(lane / "lane.json"));
  EXPECT_EQ(lj["format"], "laneface-lane/1");
  EXPECT_EQ(lj["width"], 320);
  ASSERT_EQ(lj["cameras"].size(), 4u);
  ASSERT_EQ(lj["vehicles"].size(), 5u);
  // Each camera's exact pose as a calibration block (docs/lane-format.md): within the lane's
  // jitter of the nominal mounts, focal lengths scaled to the 320 px frames.
  const std::map<std::string, std::pair<std::array<double, 3>, double>> nominal{
      {"windshield", {{7.5, 0.3, 1.9}, 3400}},
      {"driver_side", {{3.5, 3.4, 1.45}, 2300}},
      {"passenger_side", {{3.5, -3.4, 1.45}, 2300}},
      {"rear_side", {{2.5, 3.8, 2.0}, 2600}}};
  for (const auto& c : lj["cameras"]) {
    const auto& n = nominal.at(c["id"].get<std::string>());
    const auto& cal = c.at("calibration");
    EXPECT_EQ(cal["width"], 320);
    EXPECT_NEAR(cal["focal"].get<double>(), n.second / 4, 100.0 / 4 + 0.01);
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(cal["position"][std::size_t(i)].get<double>(), n.first[std::size_t(i)],
                  0.2 + 1e-4);
    }
  }
  double expect_start = 0;
  std::set<std::string> numbers;
  {
    std::istringstream csv(read_text(lane / "documents.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(
        line,
        "number,type,country,name,date_of_birth,citizenship,admitted_until,portrait,identity");
    while (std::getline(csv, line)) {
      const std::string number = line.substr(0, line.find(','));
      numbers.insert(number);
      EXPECT_TRUE(fs::exists(lane / "documents" / (number + ".jpg")));
    }
  }
  std::size_t occupants = 0;
  for (const auto& v : lj["vehicles"]) {
    const std::string id = v["id"];
    EXPECT_NEAR(v["start_s"].get<double>(), expect_start, 1e-3);
    const int frames = v["frames"];
    EXPECT_GE(frames, 6);
    EXPECT_LE(frames, 8);
    expect_start += frames / 15.0;
    const auto truth = nlohmann::json::parse(read_text(lane / "vehicles" / id / "truth.json"));
    const auto event = nlohmann::json::parse(read_text(lane / "vehicles" / id / "event.json"));
    EXPECT_EQ(truth["frames"], frames);
    EXPECT_EQ(event["vehicle"], id);
    std::set<std::string> docs;
    for (const auto& d : event["documents"]) docs.insert(d["number"].get<std::string>());
    for (const auto& o : truth["occupants"]) {
      ++occupants;
      EXPECT_GE(o["row"].get<int>(), 1);
      EXPECT_LE(o["row"].get<int>(), 3);
      if (o["enrolled"].get<bool>()) {
        EXPECT_TRUE(docs.count(o["document"].get<std::string>()));
        EXPECT_TRUE(numbers.count(o["document"].get<std::string>()));
      } else {
        EXPECT_TRUE(o["document"].is_null());
      }
      // The document portrait is never a live photo (identities have >= 2 photos here).
    }
    for (const auto& b : truth["boxes"]) {
      EXPECT_LT(b["frame"].get<int>(), frames);
      EXPECT_GT(b["visible"].get<double>(), 0.0);
      EXPECT_LE(b["visible"].get<double>(), 1.0);
    }
    for (const auto& cam : lj["cameras"]) {
      cv::VideoCapture cap((lane / "vehicles" / id / cam["file"].get<std::string>()).string());
      ASSERT_TRUE(cap.isOpened());
      int n = 0;
      cv::Mat f;
      while (cap.read(f)) {
        EXPECT_EQ(f.cols, 320);
        ++n;
      }
      EXPECT_EQ(n, frames);
    }
  }
  EXPECT_EQ(summary["occupants"].get<std::size_t>(), occupants);
  // Writing into a lane that exists is refused.
  const Simulator again(options("lane", 3), lib, source());
  EXPECT_THROW(again.write(), core::Error);
}

TEST_F(SimLane, BadInputIsAClearError) {
  EXPECT_THROW(FaceLibrary lib(root_ / "nope", root_ / "labels.csv", 2), core::Error);
  EXPECT_THROW(FaceLibrary lib(root_ / "faces", root_ / "none.csv", 2), core::Error);
  std::ofstream(root_ / "bad.csv") << "file,who\na.png,1\n";
  EXPECT_THROW(FaceLibrary lib(root_ / "faces", root_ / "bad.csv", 2), core::Error);
  const FaceLibrary too_few(root_ / "faces", root_ / "labels.csv", 10);
  EXPECT_TRUE(too_few.identities().empty());
  EXPECT_THROW(Simulator sim(options("x", 1), too_few, source()), core::Error);
  auto o = options("y", 1);
  o.preset = "sunny";
  const FaceLibrary lib(root_ / "faces", root_ / "labels.csv", 2);
  EXPECT_THROW(Simulator sim(o, lib, source()), core::Error);
}

}  // namespace
}  // namespace laneface::sim
