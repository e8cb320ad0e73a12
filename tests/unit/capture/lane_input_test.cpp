// Bad input to the lane pipeline (no models): missing lane.json, malformed lane.json, missing
// event.json, a camera file that is missing, empty or corrupt, an RTSP URL that cannot be
// opened; and a good video and image folder read frame by frame.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "capture/frame_source.hpp"
#include "capture/lane_config.hpp"
#include "capture/lane_processor.hpp"
#include "core/error.hpp"

namespace laneface::capture {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("laneface_capture_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

template <class F>
std::string error_of(F&& f, core::ErrorKind* kind = nullptr) {
  try {
    f();
  } catch (const core::Error& e) {
    if (kind) *kind = e.kind();
    return e.what();
  }
  return "";
}

TEST(FrameSource, MissingEmptyAndCorruptVideosNameTheFile) {
  TempDir d;
  core::ErrorKind kind{};
  auto msg = error_of([&] { open_frame_source((d.path / "nope.avi").string()); }, &kind);
  EXPECT_NE(msg.find("nope.avi"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kNotFound);

  write(d.path / "empty.avi", "");
  msg = error_of([&] { open_frame_source((d.path / "empty.avi").string()); }, &kind);
  EXPECT_NE(msg.find("empty.avi"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kInvalidInput);

  write(d.path / "corrupt.avi", std::string("RIFF\x10\x00\x00\x00"
                                            "AVI LIST garbage garbage garbage",
                                            40));
  msg = error_of([&] { open_frame_source((d.path / "corrupt.avi").string()); }, &kind);
  EXPECT_NE(msg.find("corrupt.avi"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kInvalidInput);

  write(d.path / "text.avi", std::string(4096, 'x'));
  msg = error_of([&] { open_frame_source((d.path / "text.avi").string()); }, &kind);
  EXPECT_NE(msg.find("text.avi"), std::string::npos) << msg;

  fs::create_directories(d.path / "no_images");
  msg = error_of([&] { open_frame_source((d.path / "no_images").string()); }, &kind);
  EXPECT_NE(msg.find("no_images"), std::string::npos) << msg;
}

TEST(FrameSource, UrlsAreStreamsAndFailWithTheirName) {
  EXPECT_TRUE(is_stream_url("rtsp://10.0.0.5:554/lane1"));
  EXPECT_TRUE(is_stream_url("https://cam/stream.mjpg"));
  EXPECT_FALSE(is_stream_url("/data/lane/windshield.avi"));
  EXPECT_FALSE(is_stream_url("rtsp.avi"));
  // Nothing listens on port 9 of localhost: the open fails quickly with the URL named.
  core::ErrorKind kind{};
  const auto msg = error_of([] { open_frame_source("rtsp://127.0.0.1:9/none"); }, &kind);
  EXPECT_NE(msg.find("rtsp://127.0.0.1:9/none"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kIo);
}

TEST(FrameSource, ReadsAVideoAndAFolderAndConcatenates) {
  TempDir d;
  const auto video = d.path / "cam.avi";
  {
    cv::VideoWriter w(video.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 15, {64, 48});
    ASSERT_TRUE(w.isOpened());
    for (int i = 0; i < 7; ++i) w.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(i * 30)));
  }
  fs::create_directories(d.path / "frames");
  for (int i = 0; i < 3; ++i) {
    cv::imwrite((d.path / "frames" / ("f" + std::to_string(i) + ".png")).string(),
                cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(i)));
  }
  auto v = open_frame_source(video.string());
  EXPECT_NEAR(v->fps(), 15, 0.01);
  Frame f;
  int n = 0;
  ASSERT_TRUE(v->read(f));
  ++n;
  EXPECT_EQ(f.image.size(), cv::Size(64, 48));
  ASSERT_TRUE(v->skip());
  ++n;
  while (v->read(f)) ++n;
  EXPECT_EQ(n, 7);
  EXPECT_EQ(f.index, 6);

  std::vector<std::unique_ptr<FrameSource>> parts;
  parts.push_back(open_frame_source(video.string()));
  parts.push_back(open_frame_source((d.path / "frames").string()));
  auto c = concat_sources(std::move(parts));
  EXPECT_EQ(c->frame_count(), 10);
  n = 0;
  while (c->read(f)) ++n;
  EXPECT_EQ(n, 10);
  EXPECT_EQ(f.index, 9);
}

TEST(LaneDirectory, MissingOrBadFilesAreErrorsNamingThem) {
  TempDir d;
  core::ErrorKind kind{};
  auto msg = error_of([&] { read_lane_directory(d.path); }, &kind);
  EXPECT_NE(msg.find("lane.json"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kNotFound);

  write(d.path / "lane.json", "{not json");
  msg = error_of([&] { read_lane_directory(d.path); }, &kind);
  EXPECT_NE(msg.find("lane.json"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kInvalidInput);

  write(d.path / "lane.json", R"({"format": "other/2", "cameras": [], "vehicles": []})");
  msg = error_of([&] { read_lane_directory(d.path); });
  EXPECT_NE(msg.find("format"), std::string::npos) << msg;

  write(d.path / "lane.json", R"({"format": "laneface-lane/1", "lane": "L1", "fps": 15,
    "cameras": [{"id": "windshield", "file": "windshield.avi"}],
    "vehicles": [{"id": "v0001", "start_s": 0, "frames": 60}]})");
  msg = error_of([&] { read_lane_directory(d.path); }, &kind);
  EXPECT_NE(msg.find("event.json"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kNotFound);

  // Without events the directory reads; the camera file is looked for only when processed.
  const auto lane = read_lane_directory(d.path, false);
  ASSERT_EQ(lane.vehicles.size(), 1u);
  EXPECT_EQ(lane.vehicles[0].lane, "L1");
  EXPECT_EQ(lane.frames[0], 60);
  EXPECT_NE(lane.vehicles[0].cameras[0].source.find("v0001"), std::string::npos);
  msg = error_of([&] { open_frame_source(lane.vehicles[0].cameras[0].source); }, &kind);
  EXPECT_NE(msg.find("windshield.avi"), std::string::npos) << msg;
  EXPECT_EQ(kind, core::ErrorKind::kNotFound);

  write(d.path / "vehicles" / "v0001" / "event.json",
        R"({"vehicle": "v0001", "lane": "L1", "direction": "exit", "time": "2026-11-27T08:00:00Z",
            "documents": [{"type": "passport", "number": "P1", "country": "MEX"}]})");
  const auto ev = read_lane_directory(d.path);
  EXPECT_EQ(ev.vehicles[0].direction, "exit");
  EXPECT_EQ(ev.vehicles[0].documents.size(), 1u);
}

TEST(LaneConfig, LoadsAndRejectsBadValues) {
  TempDir d;
  write(d.path / "lane.toml", R"([lane]
detect_stride = 3
min_face = 40
ghost_motion = false
cheap_on_crop = false
[lane.cameras.windshield]
roi = [0.0, 0.2, 1.0, 0.6]
rows = [1]
windows = [[0.1, 0.2, 0.8, 0.4]]
[lane.cameras.rear_side]
rows = [2, 3]
row_widths = [60.0, 40.0]
)");
  const auto c = LaneConfig::load(d.path / "lane.toml");
  EXPECT_EQ(c.detect_stride, 3);
  EXPECT_EQ(c.min_face, 40);
  EXPECT_FALSE(c.ghost_motion);
  EXPECT_FALSE(c.cheap_on_crop);
  EXPECT_TRUE(LaneConfig{}.cheap_on_crop);
  EXPECT_FLOAT_EQ(c.camera("windshield").roi.y, 0.2f);
  EXPECT_EQ(c.camera("windshield").windows.size(), 1u);
  EXPECT_EQ(c.camera("rear_side").rows, (std::vector<int>{2, 3}));
  EXPECT_EQ(c.camera("unknown").rows.size(), 3u);

  write(d.path / "bad.toml", "[lane]\ndetect_stride = 0\n");
  auto msg = error_of([&] { LaneConfig::load(d.path / "bad.toml"); });
  EXPECT_NE(msg.find("detect_stride"), std::string::npos) << msg;
  write(d.path / "bad2.toml", "[lane.cameras.windshield]\nroi = [0, 0, 2, 1]\n");
  msg = error_of([&] { LaneConfig::load(d.path / "bad2.toml"); });
  EXPECT_NE(msg.find("roi"), std::string::npos) << msg;
  write(d.path / "bad3.toml", "[lane]\ntemplate_normalise = \"sepia\"\n");
  msg = error_of([&] { LaneConfig::load(d.path / "bad3.toml"); });
  EXPECT_NE(msg.find("template_normalise"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sepia"), std::string::npos) << msg;
  write(d.path / "bad4.toml", "[lane]\nvehicle_target_fpir = 0.5\n");
  msg = error_of([&] { LaneConfig::load(d.path / "bad4.toml"); });
  EXPECT_NE(msg.find("vehicle_target_fpir"), std::string::npos) << msg;
  write(d.path / "gw.toml", "[lane]\ntemplate_normalise = \"grayworld\"\n");
  EXPECT_EQ(LaneConfig::load(d.path / "gw.toml").template_normalise, vision::Normalise::kGrayWorld);
  core::ErrorKind kind{};
  msg = error_of([&] { LaneConfig::load(d.path / "missing.toml"); }, &kind);
  EXPECT_EQ(kind, core::ErrorKind::kNotFound);
  // The repository's config loads.
  EXPECT_NO_THROW(LaneConfig::load(default_lane_config_path()));
  EXPECT_TRUE(LaneConfig::load(default_lane_config_path()).cheap_on_crop);
}

}  // namespace
}  // namespace laneface::capture
