// libFuzzer target: outside bytes → core::decode_image (small limits) → detector → 68-point
// landmarks, the path every camera frame and uploaded photo takes. Built only with
// LANEFACE_FUZZ=ON (clang preset `fuzz`, ASan+UBSan); run it with scripts/fuzz.
//
// Contract checked, beyond "no crash, no sanitizer report, no uncaught exception":
//   - decode_image either throws core::Error(kInvalidInput) or returns a non-empty 8-bit BGR
//     image within the limits;
//   - every detected box is finite, at least 1 px, inside the image, with a score in [0, 1];
//   - every landmark is finite.
// Without models (scripts/setup not run) only the decode step is fuzzed, with a note once.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <span>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "vision/detector.hpp"
#include "vision/landmarker.hpp"
#include "vision/manifest.hpp"
#include "vision/net_pool.hpp"

namespace lc = laneface::core;
namespace lv = laneface::vision;

namespace {

// Small enough that one input runs in milliseconds, large enough for a face the detector sees.
constexpr lc::ImageLimits kLimits{
    .max_file_bytes = 1u << 20, .max_pixels = 640 * 480, .max_side = 2048};

[[noreturn]] void contract_broken(const char* what) {
  std::fprintf(stderr, "fuzz_image_detect: contract broken: %s\n", what);
  std::abort();
}

// Only the models this path needs (not the recognizer).
struct Engine {
  lv::Detector detector;
  lv::Landmarker landmarker;
};

const Engine* load_engine() {
  try {
    const lv::Manifest manifest = lv::Manifest::load(lv::default_manifest_path());
    return new Engine{
        // lives for the whole process
        lv::Detector(std::make_shared<lv::NetPool>(manifest, manifest.model_for_role("detector"))),
        lv::Landmarker(
            std::make_shared<lv::NetPool>(manifest, manifest.model_for_role("landmarker")))};
  } catch (const lc::Error& e) {
    std::fprintf(stderr, "fuzz_image_detect: models not loaded, fuzzing decode only: %s\n",
                 e.what());
    return nullptr;
  }
}

bool finite_point(const cv::Point2f& p) { return std::isfinite(p.x) && std::isfinite(p.y); }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::setNumThreads(1);  // one input at a time, deterministic, and no pool threads for ASan
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Engine* const engine = load_engine();

  cv::Mat image;
  try {
    image = lc::decode_image(std::span<const std::uint8_t>(data, size), "fuzz-input", kLimits);
  } catch (const lc::Error& e) {
    if (e.kind() != lc::ErrorKind::kInvalidInput)
      contract_broken("decode_image threw an error other than kInvalidInput");
    return 0;
  }
  if (image.empty() || image.type() != CV_8UC3)
    contract_broken("decode_image returned an empty or non-BGR image");
  if (std::uint64_t(image.cols) * std::uint64_t(image.rows) > kLimits.max_pixels ||
      image.cols > kLimits.max_side || image.rows > kLimits.max_side) {
    contract_broken("decode_image returned an image over the limits");
  }
  if (!engine) return 0;

  const auto faces = engine->detector.detect(image);
  for (const auto& f : faces) {
    const auto& b = f.box;
    if (!(std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) &&
          std::isfinite(b.y2))) {
      contract_broken("detector returned a non-finite box");
    }
    if (b.width() < 1 || b.height() < 1) contract_broken("detector returned a box under 1 px");
    if (b.x1 < 0 || b.y1 < 0 || b.x2 > image.cols || b.y2 > image.rows) {
      contract_broken("detector returned a box outside the image");
    }
    if (!(f.score >= 0 && f.score <= 1))
      contract_broken("detector returned a score outside [0, 1]");
    const auto lm = engine->landmarker.predict(image, b);
    for (const auto& p : lm) {
      if (!finite_point(p)) contract_broken("landmarker returned a non-finite point");
    }
  }
  return 0;
}
