// Face engine speed: detection per 1280x720 and per 1920x1080 frame, and landmarks +
// alignment + template per face (with and without mirrored-face averaging), on one core and on
// two. laneface parallelises across frames, never inside one net: OpenCV runs single-threaded
// (cv::setNumThreads(1)) and the two-core runs are two benchmark threads, each with its own
// copies of the frames and faces, sharing the engine's net pools.
//
// Frames are the demo photos var/samples/sample*.jpg (scripts/setup) resized to the frame
// height and padded to the frame width; faces are the ones the detector finds in them.
//
//   build/release/bench/laneface_bench_engine                         console table
//   build/release/bench/laneface_bench_engine --benchmark_format=json  Google Benchmark JSON
//
// After the table (console) the program prints one JSON line summarising ms per frame and per
// face; with --benchmark_format=json that line goes to stderr so stdout stays one document.
// Without models or samples it prints why it skips (stderr) and a {"skipped": ...} JSON line,
// and exits 0.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/types.hpp"
#include "vision/detector.hpp"
#include "vision/landmarker.hpp"
#include "vision/manifest.hpp"
#include "vision/net_pool.hpp"
#include "vision/recognizer.hpp"

namespace lc = laneface::core;
namespace lv = laneface::vision;

namespace {

constexpr int kMaxThreads = 2;
constexpr int kMinFace = 40;  // DetectOptions' default, stated here so the report can name it
constexpr const char* kProgram = "laneface_bench_engine";
// The 512-D ArcFace-style model of issue 2 (also EngineOptions::recognizer's default).
constexpr const char* kRecognizerId = "fr_feature";

struct FrameSize {
  std::string_view name;
  int width;
  int height;
  cv::Size size() const { return {width, height}; }
};
constexpr std::array<FrameSize, 2> kFrameSizes{
    {{"1280x720", 1280, 720}, {"1920x1080", 1920, 1080}}};

// One detected face and the photo it is in.
struct FaceInput {
  cv::Mat image;
  lc::Box box;
};

struct Fixture {
  lv::Manifest manifest;
  std::unique_ptr<lv::Detector> detector;
  std::unique_ptr<lv::Landmarker> landmarker;
  std::unique_ptr<lv::ArcFaceRecognizer> recognizer_mirror;
  std::unique_ptr<lv::ArcFaceRecognizer> recognizer_plain;
  // [frame size][thread] -> frames; [thread] -> faces. Each thread owns its copies.
  std::array<std::array<std::vector<cv::Mat>, kMaxThreads>, kFrameSizes.size()> frames;
  std::array<std::vector<FaceInput>, kMaxThreads> faces;
  std::array<std::size_t, kFrameSizes.size()> views{};
  std::size_t sample_count = 0;
};

Fixture* g_fixture = nullptr;

// The photo scaled to the frame's height (or width, if it is the tighter side), centred and
// padded with mid-grey to exactly the frame size.
cv::Mat to_frame(const cv::Mat& photo, cv::Size size) {
  const double s = std::min(double(size.width) / photo.cols, double(size.height) / photo.rows);
  cv::Mat scaled;
  cv::resize(photo, scaled, {}, s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  scaled =
      scaled(cv::Rect(0, 0, std::min(scaled.cols, size.width), std::min(scaled.rows, size.height)));
  cv::Mat frame(size, CV_8UC3, cv::Scalar::all(128));
  const int x = (size.width - scaled.cols) / 2, y = (size.height - scaled.rows) / 2;
  scaled.copyTo(frame(cv::Rect(x, y, scaled.cols, scaled.rows)));
  return frame;
}

std::vector<std::filesystem::path> sample_paths() {
  const std::filesystem::path dir = std::filesystem::path(LANEFACE_SOURCE_ROOT) / "var" / "samples";
  std::vector<std::filesystem::path> out;
  for (int n = 1; n <= 99; ++n) {
    const auto p = dir / ("sample" + std::to_string(n) + ".jpg");
    if (!std::filesystem::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

// Runs fn(thread_index) on kMaxThreads threads at once; used to give every net pool one net
// per thread and to run each net's first forward pass before anything is timed.
template <class Fn>
void on_all_threads(Fn fn) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kMaxThreads; ++t) threads.emplace_back(fn, t);
  for (auto& th : threads) th.join();
}

// Throws core::Error when models or samples are missing (the caller turns that into a skip).
std::unique_ptr<Fixture> load_fixture() {
  auto fx = std::make_unique<Fixture>();
  fx->manifest = lv::Manifest::load(lv::default_manifest_path());
  const auto& m = fx->manifest;
  fx->detector = std::make_unique<lv::Detector>(
      std::make_shared<lv::NetPool>(m, m.model_for_role("detector")));
  fx->landmarker = std::make_unique<lv::Landmarker>(
      std::make_shared<lv::NetPool>(m, m.model_for_role("landmarker")));
  fx->recognizer_mirror = std::make_unique<lv::ArcFaceRecognizer>(
      std::make_shared<lv::NetPool>(m, m.model(kRecognizerId)), lv::EmbedOptions{.mirror = true});
  fx->recognizer_plain = std::make_unique<lv::ArcFaceRecognizer>(
      std::make_shared<lv::NetPool>(m, m.model(kRecognizerId)), lv::EmbedOptions{.mirror = false});

  const auto paths = sample_paths();
  if (paths.empty()) {
    throw lc::Error(lc::ErrorKind::kNotFound,
                    std::string(LANEFACE_SOURCE_ROOT) +
                        "/var/samples/sample1.jpg: no demo photos (run scripts/setup)");
  }
  fx->sample_count = paths.size();
  for (const auto& path : paths) {
    const cv::Mat photo = lc::read_image(path);
    for (std::size_t k = 0; k < kFrameSizes.size(); ++k) {
      const cv::Mat frame = to_frame(photo, kFrameSizes[k].size());
      for (int t = 0; t < kMaxThreads; ++t) fx->frames[k][t].push_back(frame.clone());
    }
    for (const auto& face : fx->detector->detect(photo, {.min_face = kMinFace})) {
      for (int t = 0; t < kMaxThreads; ++t) fx->faces[t].push_back({photo.clone(), face.box});
    }
  }
  if (fx->faces[0].empty()) {
    throw lc::Error(lc::ErrorKind::kNotFound,
                    "the detector found no face in var/samples/sample*.jpg");
  }
  for (std::size_t k = 0; k < kFrameSizes.size(); ++k) {
    fx->views[k] = fx->detector->plan(kFrameSizes[k].size(), kMinFace).size();
  }
  // Warm-up: both threads at once, so each pool holds a net per thread, each already run.
  on_all_threads([&](int t) {
    for (std::size_t k = 0; k < kFrameSizes.size(); ++k) fx->detector->detect(fx->frames[k][t][0]);
    for (const auto* rec : {fx->recognizer_mirror.get(), fx->recognizer_plain.get()}) {
      lc::Face f;
      f.box = fx->faces[t][0].box;
      f.landmarks68 = fx->landmarker->predict(fx->faces[t][0].image, f.box);
      f.landmarks5 = lv::reduce_to_5(*f.landmarks68);
      benchmark::DoNotOptimize(rec->embed(fx->faces[t][0].image, f));
    }
  });
  return fx;
}

void bm_detect_frame(benchmark::State& state, std::size_t size_index) {
  const Fixture& fx = *g_fixture;
  const auto& frames = fx.frames[size_index][state.thread_index() % kMaxThreads];
  std::size_t i = static_cast<std::size_t>(state.thread_index());  // threads start apart
  std::size_t faces = 0;
  for (auto _ : state) {
    const auto found = fx.detector->detect(frames[i++ % frames.size()], {.min_face = kMinFace});
    faces += found.size();
    benchmark::DoNotOptimize(found.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["faces_per_frame"] =
      benchmark::Counter(double(faces), benchmark::Counter::kAvgIterations);
  state.counters["views"] =
      benchmark::Counter(double(fx.views[size_index]), benchmark::Counter::kAvgThreads);
}

// Landmarks (68 → 5) + similarity alignment + template, from a detector box.
void bm_face_template(benchmark::State& state, bool mirror) {
  const Fixture& fx = *g_fixture;
  const auto& faces = fx.faces[state.thread_index() % kMaxThreads];
  const lv::Recognizer& recognizer = mirror ? *fx.recognizer_mirror : *fx.recognizer_plain;
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 3;
  for (auto _ : state) {
    const FaceInput& in = faces[i++ % faces.size()];
    lc::Face face;
    face.box = in.box;
    face.landmarks68 = fx.landmarker->predict(in.image, face.box);
    face.landmarks5 = lv::reduce_to_5(*face.landmarks68);
    const lc::Template t = recognizer.embed(in.image, face);
    benchmark::DoNotOptimize(t.values.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void register_benchmarks() {
  for (const int threads : {1, kMaxThreads}) {
    for (std::size_t k = 0; k < kFrameSizes.size(); ++k) {
      benchmark::RegisterBenchmark(("detect_frame/" + std::string(kFrameSizes[k].name)).c_str(),
                                   bm_detect_frame, k)
          ->Threads(threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    for (const bool mirror : {true, false}) {
      benchmark::RegisterBenchmark(mirror ? "face_template/mirror" : "face_template/no_mirror",
                                   bm_face_template, mirror)
          ->Threads(threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

// The one-line JSON summary: per frame size and core count, detection and template figures.
nlohmann::json summary(const laneface::bench::SummaryReporter& reporter, const Fixture& fx) {
  auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
  nlohmann::json j;
  j["summary"] = kProgram;
  j["unit"] = "ms";
  j["opencv_threads"] = 1;
  j["min_face"] = kMinFace;
  j["samples"] = fx.sample_count;
  j["faces"] = fx.faces[0].size();
  const auto& figures = reporter.figures();
  for (const int threads : {1, kMaxThreads}) {
    nlohmann::json& out = j[threads == 1 ? "one_core" : "two_cores"];
    auto put = [&](const std::string& bench, const std::string& key, const std::string& unit) {
      const auto it = figures.find({bench, threads});
      if (it == figures.end()) return;  // filtered out
      out[key + "_ms_per_" + unit] = round3(it->second.ms_per_item);
      out[key + "_cpu_ms_per_" + unit] = round3(it->second.cpu_ms_per_item);
      out[key + "_" + unit + "s_per_s"] = round3(it->second.items_per_s);
      if (threads > 1) out[key + "_latency_ms"] = round3(it->second.ms_per_item * threads);
    };
    for (const auto& size : kFrameSizes)
      put("detect_frame/" + std::string(size.name), "detect_" + std::string(size.name), "frame");
    put("face_template/mirror", "face_template_mirror", "face");
    put("face_template/no_mirror", "face_template_no_mirror", "face");
    if (out.is_null()) j.erase(threads == 1 ? "one_core" : "two_cores");
  }
  if (reporter.failed()) j["errors"] = reporter.errors();
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string format = laneface::bench::requested_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cv::setNumThreads(1);

  const auto fixture = laneface::bench::load_or_skip(kProgram, load_fixture);
  if (!fixture) return 0;
  g_fixture = fixture.get();
  benchmark::AddCustomContext("laneface.min_face", std::to_string(kMinFace));
  benchmark::AddCustomContext("laneface.opencv_threads", "1");
  benchmark::AddCustomContext("laneface.samples", std::to_string(fixture->sample_count));
  benchmark::AddCustomContext("laneface.faces", std::to_string(fixture->faces[0].size()));
  register_benchmarks();

  laneface::bench::SummaryReporter reporter(laneface::bench::make_display_reporter(format));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::cout.flush();
  (format == "console" ? std::cout : std::cerr) << summary(reporter, *fixture).dump() << std::endl;
  g_fixture = nullptr;
  return reporter.failed() ? 1 : 0;
}
