// Face-image quality cost per face: the cheap gate (Scope::kCheap: geometry, pose from the
// landmarks, pixel statistics — what runs before any template is computed), all measures
// (Scope::kAll: adds the eye and pose models and the recognition-based measures), and each
// measure alone. One core: OpenCV single-threaded, one benchmark thread.
//
// Faces are those the detector finds in the demo photos var/samples/sample*.jpg
// (scripts/setup), with their 68 landmarks computed once before timing: the benchmark times
// quality::Assessor::assess only. "measure/<Name>" runs an assessor configured with that one
// measure, so it includes the shared work that measure needs (the aligned chip, the landmark
// pose, the recognizer's chip and template).
//
//   build/release/bench/laneface_bench_quality                         console table + summary
//   build/release/bench/laneface_bench_quality --benchmark_filter=quality/  gate and all only
//
// The console table is followed by one JSON summary line (wall and CPU ms per face; CPU time
// is the better figure when other processes share the cores). Google Benchmark's JSON:
// --benchmark_out=FILE --benchmark_out_format=json. Without models or samples it prints why
// it skips and {"skipped": ...}, and exits 0.
#include <benchmark/benchmark.h>

#include <cmath>
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
#include "quality/assessor.hpp"
#include "vision/face_engine.hpp"

namespace lc = laneface::core;
namespace lq = laneface::quality;
namespace lv = laneface::vision;

namespace {

constexpr const char* kProgram = "laneface_bench_quality";

struct Photo {
  cv::Mat image;
  std::vector<lc::Face> faces;
};

struct Fixture {
  std::unique_ptr<lv::FaceEngine> engine;
  lq::Models models;
  lq::QualityConfig config;
  std::unique_ptr<lq::Assessor> assessor;
  std::map<std::string, std::unique_ptr<lq::Assessor>> single;  // one measure each
  std::vector<Photo> photos;
  std::vector<std::pair<std::size_t, std::size_t>> faces;  // (photo, face)
};

Fixture* g_fixture = nullptr;

std::unique_ptr<Fixture> load_fixture() {
  auto fx = std::make_unique<Fixture>();
  fx->engine = std::make_unique<lv::FaceEngine>();
  fx->models = lq::Assessor::load_models(fx->engine->manifest());
  fx->config = lq::QualityConfig::load(lq::default_quality_config_path());
  fx->assessor = std::make_unique<lq::Assessor>(fx->config, fx->models);
  for (const auto& m : fx->config.measures) {
    lq::QualityConfig one = fx->config;
    one.measures = {m};
    one.unified_weights.clear();
    one.cheap_unified_weights.clear();
    one.profiles.clear();
    fx->single[m.name] = std::make_unique<lq::Assessor>(one, fx->models);
  }
  const auto dir = std::filesystem::path(LANEFACE_SOURCE_ROOT) / "var" / "samples";
  for (int n = 1; n <= 99; ++n) {
    const auto p = dir / ("sample" + std::to_string(n) + ".jpg");
    if (!std::filesystem::exists(p)) break;
    Photo photo{lc::read_image(p), {}};
    photo.faces = fx->engine->analyze(photo.image);
    for (std::size_t k = 0; k < photo.faces.size(); ++k)
      fx->faces.emplace_back(fx->photos.size(), k);
    fx->photos.push_back(std::move(photo));
  }
  if (fx->faces.empty()) {
    throw lc::Error(lc::ErrorKind::kNotFound,
                    dir.string() + "/sample1.jpg: no demo photos or no faces (run scripts/setup)");
  }
  // Warm-up: every net built and run once.
  const auto& [p, k] = fx->faces.front();
  benchmark::DoNotOptimize(fx->assessor->assess(fx->photos[p].image, fx->photos[p].faces, k));
  return fx;
}

void bm_assess(benchmark::State& state, const lq::Assessor* assessor, lq::Scope scope) {
  const Fixture& fx = *g_fixture;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& [p, k] = fx.faces[i++ % fx.faces.size()];
    const auto r = assessor->assess(fx.photos[p].image, fx.photos[p].faces, k, scope);
    benchmark::DoNotOptimize(r.measures.data());
  }
  state.SetItemsProcessed(state.iterations());
}

// The median (or mean, or single run) wall and CPU ms per face of every benchmark.
nlohmann::json summary(const laneface::bench::SummaryReporter& reporter, const Fixture& fx) {
  auto r3 = [](double v) { return std::round(v * 1000) / 1000; };
  nlohmann::json j{{"summary", kProgram},
                   {"unit", "ms per face"},
                   {"faces", fx.faces.size()},
                   {"opencv_threads", 1},
                   {"threads", 1}};
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [key, f] : reporter.figures()) {
    const std::string& name = key.first;
    const nlohmann::json v{{"wall", r3(f.ms_per_item)}, {"cpu", r3(f.cpu_ms_per_item)}};
    if (name == "quality/cheap_gate")
      j["cheap_gate"] = v;
    else if (name == "quality/all_measures")
      j["all_measures"] = v;
    else
      per[name.substr(name.find('/') + 1)] = v;
  }
  j["per_measure"] = per;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cv::setNumThreads(1);
  const auto fixture = laneface::bench::load_or_skip(kProgram, load_fixture);
  if (!fixture) return 0;
  g_fixture = fixture.get();
  benchmark::AddCustomContext("laneface.faces", std::to_string(fixture->faces.size()));
  benchmark::RegisterBenchmark("quality/cheap_gate", bm_assess, fixture->assessor.get(),
                               lq::Scope::kCheap)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("quality/all_measures", bm_assess, fixture->assessor.get(),
                               lq::Scope::kAll)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (const auto& [name, a] : fixture->single) {
    benchmark::RegisterBenchmark(("measure/" + name).c_str(), bm_assess, a.get(), lq::Scope::kAll)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  laneface::bench::SummaryReporter reporter(laneface::bench::make_display_reporter("console"));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::cout << summary(reporter, *fixture).dump() << std::endl;
  g_fixture = nullptr;
  return 0;
}
