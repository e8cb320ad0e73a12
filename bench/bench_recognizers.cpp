// Recognizer speed, one core: per face, from the 68 landmarks, the alignment + template of
// each recognizer (fr_feature: 5-point similarity chip, 512-D, mirrored-face average;
// dlib_resnet: dlib face chip, 128-D) and of the fused recognizer (both), plus the 68-point
// landmarks themselves and a template comparison. OpenCV runs single-threaded.
//
// Faces are those the detector finds in var/samples/sample*.jpg (scripts/setup). Ends with
// one JSON summary line (stderr with --benchmark_format=json): ms per face per benchmark
// (the median when repetitions ran, else the mean, else the single run). Without models or
// samples it says why, prints {"skipped": ...} and exits 0.
//
//   build/release/bench/laneface_bench_recognizers
//   build/release/bench/laneface_bench_recognizers --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/types.hpp"
#include "vision/face_engine.hpp"
#include "vision/fused_recognizer.hpp"

namespace lc = laneface::core;
namespace lv = laneface::vision;

namespace {

constexpr const char* kProgram = "laneface_bench_recognizers";

struct FaceInput {
  cv::Mat image;
  lc::Face face;  // box, 68 and 5 landmarks
};

struct Fixture {
  std::unique_ptr<lv::FaceEngine> engine;  // recognizer "fused": its parts are the two models
  const lv::FusedRecognizer* fused = nullptr;
  std::vector<FaceInput> faces;
  std::size_t samples = 0;
};
Fixture* g_fixture = nullptr;

std::unique_ptr<Fixture> load_fixture() {
  auto fx = std::make_unique<Fixture>();
  lv::EngineOptions o;
  o.recognizer = "fused";
  fx->engine = std::make_unique<lv::FaceEngine>(o);
  fx->fused = dynamic_cast<const lv::FusedRecognizer*>(&fx->engine->recognizer());
  if (!fx->fused) throw lc::Error(lc::ErrorKind::kConfig, "recognizer 'fused' is not fused");
  const std::filesystem::path dir = std::filesystem::path(LANEFACE_SOURCE_ROOT) / "var" / "samples";
  for (int n = 1; n <= 99; ++n) {
    const auto p = dir / ("sample" + std::to_string(n) + ".jpg");
    if (!std::filesystem::exists(p)) break;
    ++fx->samples;
    const cv::Mat img = lc::read_image(p);
    for (auto& f : fx->engine->analyze(img)) fx->faces.push_back({img, f});
  }
  if (fx->faces.empty()) {
    throw lc::Error(lc::ErrorKind::kNotFound,
                    dir.string() + "/sample*.jpg: no demo photos with faces (run scripts/setup)");
  }
  // Warm-up: every net runs once before anything is timed.
  benchmark::DoNotOptimize(fx->fused->embed(fx->faces[0].image, fx->faces[0].face));
  return fx;
}

// part < 0: the fused recognizer; else that part.
void bm_template(benchmark::State& state, int part) {
  const Fixture& fx = *g_fixture;
  const lv::Recognizer& rec =
      part < 0 ? static_cast<const lv::Recognizer&>(*fx.fused) : *fx.fused->parts()[part];
  std::size_t i = 0;
  for (auto _ : state) {
    const FaceInput& in = fx.faces[i++ % fx.faces.size()];
    const lc::Template t = rec.embed(in.image, in.face);
    benchmark::DoNotOptimize(t.values.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(rec.model_id());
}

void bm_landmarks(benchmark::State& state) {
  const Fixture& fx = *g_fixture;
  std::size_t i = 0;
  for (auto _ : state) {
    const FaceInput& in = fx.faces[i++ % fx.faces.size()];
    lc::Face f;
    f.box = in.face.box;
    fx.engine->add_landmarks(in.image, f);
    benchmark::DoNotOptimize(f.landmarks68->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_compare_fused(benchmark::State& state) {
  const Fixture& fx = *g_fixture;
  const auto a = fx.fused->embed(fx.faces[0].image, fx.faces[0].face);
  const auto b = fx.fused->embed(fx.faces.back().image, fx.faces.back().face);
  for (auto _ : state) benchmark::DoNotOptimize(fx.fused->compare(a, b));
  state.SetItemsProcessed(state.iterations());
}

nlohmann::json summary(const laneface::bench::SummaryReporter& reporter, const Fixture& fx) {
  auto r3 = [](double v) { return std::round(v * 1000) / 1000; };
  nlohmann::json j{{"summary", kProgram},
                   {"unit", "ms"},
                   {"opencv_threads", 1},
                   {"samples", fx.samples},
                   {"faces", fx.faces.size()}};
  for (const auto& [key, f] : reporter.figures()) {
    j["ms_per_face"][key.first] = r3(f.ms_per_item);
    j["cpu_ms_per_face"][key.first] = r3(f.cpu_ms_per_item);
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
  const auto& parts = fixture->fused->parts();
  for (int p = 0; p < int(parts.size()); ++p) {
    benchmark::RegisterBenchmark(("template/" + parts[p]->model_id()).c_str(), bm_template, p)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("template/fused", bm_template, -1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("landmarks68", bm_landmarks)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("compare/fused", bm_compare_fused)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  laneface::bench::SummaryReporter reporter(laneface::bench::make_display_reporter(format));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::cout.flush();
  (format == "console" ? std::cout : std::cerr) << summary(reporter, *fixture).dump() << std::endl;
  g_fixture = nullptr;
  return reporter.failed() ? 1 : 0;
}
