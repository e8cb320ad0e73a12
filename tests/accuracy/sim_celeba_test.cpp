// The simulator on CelebA-dev: in `easy` the detector finds (IoU >= 0.5) nearly all well
// visible truth boxes (visible >= 0.8, >= 40 px); in `realistic` most of them. Prints one
// JSON line per preset.
#include <gtest/gtest.h>

#include <filesystem>

#include "sim/face_library.hpp"
#include "sim/simulator.hpp"
#include "support/test_support.hpp"

namespace laneface::sim {
namespace {

namespace fs = std::filesystem;

void run(const std::string& preset_name, double bar) {
  LANEFACE_REQUIRE_MODELS();
  LANEFACE_REQUIRE_DATA("celeba-dev");
  const fs::path data = *test::data_root() / "celeba-dev";
  const auto& engine = test::shared_engine();
  const FaceLibrary lib(data, data / "labels.csv", 2);
  SimOptions o;
  o.faces = data;
  o.labels = data / "labels.csv";
  o.vehicles = 8;
  o.preset = preset_name;
  o.seed = 21;
  const Simulator sim(o, lib, engine_faces(lib, engine));
  int truth = 0, found = 0;
  for (const auto& pv : sim.vehicles()) {
    const auto noise = noise_frames(pv.scene, {o.width, o.height});
    for (std::size_t c = 0; c < sim.renderer().cameras().size(); ++c) {
      for (int f = 0; f < pv.scene.frames; f += 6) {
        const RenderedFrame fr = sim.renderer().render(pv.scene, c, f, noise);
        std::vector<core::Box> wanted;
        for (const auto& d : fr.faces) {
          if (!d.ghost && d.visible >= 0.8 && d.box.width() >= 40) wanted.push_back(d.box);
        }
        if (wanted.empty()) continue;
        const auto faces = engine.detector().detect(fr.bgr);
        for (const auto& b : wanted) {
          ++truth;
          float best = 0;
          for (const auto& face : faces) best = std::max(best, core::iou(face.box, b));
          found += best >= 0.5f;
        }
      }
    }
  }
  ASSERT_GE(truth, 30);
  const double rate = double(found) / truth;
  std::printf("{\"test\":\"sim_%s_celeba\",\"truth_boxes\":%d,\"found_iou50\":%d,\"rate\":%.3f}\n",
              preset_name.c_str(), truth, found, rate);
  EXPECT_GE(rate, bar);
}

TEST(SimAccuracy, DetectorFindsTruthBoxesEasy) { run("easy", 0.9); }
// realistic: night, glare, tint and blur make some well-visible faces hard; bar set before a
// first full run (see the report of issue 4): lower than easy on purpose.
TEST(SimAccuracy, DetectorFindsTruthBoxesRealistic) { run("realistic", 0.7); }

}  // namespace
}  // namespace laneface::sim
