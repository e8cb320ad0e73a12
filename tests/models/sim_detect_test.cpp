// The simulator's ground truth against the detector: on frames rendered in the `easy` preset,
// the detector finds a face at (IoU >= 0.5) nearly every truth box that is well visible
// (visible >= 0.8, at least 40 px wide). Faces are cut with the FaceEngine from the MIT group
// photos in var/samples (one photo per person: --single-photo).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim/face_library.hpp"
#include "sim/simulator.hpp"
#include "support/test_support.hpp"

namespace laneface::sim {
namespace {

namespace fs = std::filesystem;

struct Hits {
  int truth = 0, found = 0;
};

// Renders every `step`-th frame of every vehicle and camera, detects, and matches.
Hits detect_truth(const Simulator& sim, const vision::FaceEngine& engine, int step) {
  Hits h;
  for (std::size_t v = 0; v < sim.vehicles().size(); ++v) {
    const auto& sc = sim.vehicles()[v].scene;
    for (std::size_t c = 0; c < sim.renderer().cameras().size(); ++c) {
      for (int f = 0; f < sc.frames; f += step) {
        const RenderedFrame fr = sim.renderer().render(sc, c, f, {});
        std::vector<const DrawnFace*> wanted;
        for (const auto& d : fr.faces) {
          if (!d.ghost && d.visible >= 0.8 && d.box.width() >= 40) wanted.push_back(&d);
        }
        if (wanted.empty()) continue;
        const auto faces = engine.detector().detect(fr.bgr);
        for (const DrawnFace* d : wanted) {
          ++h.truth;
          float best = 0;
          for (const auto& face : faces) best = std::max(best, core::iou(face.box, d->box));
          h.found += best >= 0.5f;
        }
      }
    }
  }
  return h;
}

TEST(SimModels, DetectorFindsTheTruthBoxesOfSampleFacesInEasy) {
  LANEFACE_REQUIRE_MODELS();
  const fs::path samples = test::sample_image(1).parent_path();
  if (!fs::exists(test::sample_image(1)))
    GTEST_SKIP() << "var/samples not fetched: run scripts/setup";
  const fs::path tmp = fs::temp_directory_path() / "laneface_sim_models_test";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  {
    // Group photos: one identity per face (the k-th from the left), see docs/sim.md.
    std::ofstream csv(tmp / "labels.csv");
    csv << "image,identity,face\n";
    const int faces[] = {3, 3, 3, 4, 5, 4};
    for (int i = 1; i <= 6; ++i) {
      for (int k = 0; k < faces[i - 1]; ++k) {
        csv << "sample" << i << ".jpg,s" << i << "_" << k << "," << k << "\n";
      }
    }
  }
  const auto& engine = test::shared_engine();
  const FaceLibrary lib(samples, tmp / "labels.csv", 1);
  ASSERT_GE(lib.identities().size(), 15u);
  SimOptions o;
  o.faces = samples;
  o.labels = tmp / "labels.csv";
  o.out = tmp / "lane";
  o.vehicles = 6;
  o.preset = "easy";
  o.seed = 4;
  o.min_frames = 12;
  o.max_frames = 12;
  o.single_photo = true;
  const Simulator sim(o, lib, engine_faces(lib, engine));
  const Hits h = detect_truth(sim, engine, 4);
  ASSERT_GE(h.truth, 20);
  const double rate = double(h.found) / h.truth;
  std::printf(
      "{\"test\":\"sim_easy_samples\",\"truth_boxes\":%d,\"found_iou50\":%d,\"rate\":%.3f}\n",
      h.truth, h.found, rate);
  EXPECT_GE(rate, 0.9);
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace laneface::sim
