// dlib's ResNet-29 assembled from the face-api TF.js weights. Golden: the template of a fixed
// 150x150 chip (cut from var/samples/sample3.jpg, MIT) equals the one @vladmandic/face-api
// computes itself (tests/data/dlib_chip_sample3.json, written by scripts/golden/dlib_reference.mjs)
// within 1e-4 L2. And on a handful of LFW pairs, dlib's own rule (distance < 0.6) holds.
#include "vision/dlib_recognizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/image_io.hpp"
#include "eval/lfw.hpp"
#include "support/test_support.hpp"
#include "vision/face_engine.hpp"
#include "vision/preprocess.hpp"

namespace lv = laneface::vision;
namespace lc = laneface::core;
namespace lt = laneface::test;

namespace {

const lv::FaceEngine& engine() { return lt::shared_engine("dlib_resnet"); }

std::vector<std::uint8_t> verified(const lv::Manifest& m, const lv::ModelFile& f) {
  return lv::load_verified_file(m, f.file, f.sha256);
}

}  // namespace

TEST(DlibRecognizer, MatchesTheJavaScriptLibraryOnAFixedChip) {
  LANEFACE_REQUIRE_MODELS();
  const auto manifest = lv::Manifest::load(lt::manifest_path());
  const lv::ModelSpec& spec = manifest.model("dlib_resnet");
  ASSERT_TRUE(spec.weights_manifest);
  const auto json = verified(manifest, *spec.weights_manifest);
  const auto weights =
      lv::TfjsWeights::parse(std::string(json.begin(), json.end()), spec.weights_manifest->file,
                             lv::load_verified_model(manifest, spec), spec.file);
  cv::dnn::Net net = lv::build_dlib_resnet(weights, spec.input, spec.outputs.at(0));

  const auto data = lt::source_root() / "tests" / "data";
  const cv::Mat chip = cv::imread((data / "dlib_chip_sample3.png").string(), cv::IMREAD_COLOR);
  ASSERT_EQ(chip.size(), cv::Size(150, 150));
  const auto reference =
      nlohmann::json::parse(std::ifstream(data / "dlib_chip_sample3.json"))["descriptor"]
          .get<std::vector<float>>();
  ASSERT_EQ(reference.size(), 128u);

  // face-api divides by 255 (FaceRecognitionNet.ts), dlib and our manifest by 256: feed the
  // JavaScript library's normalisation to compare the networks themselves.
  lv::InputSpec js_input = spec.input;
  js_input.scale = 1.0 / 255;
  net.setInput(lv::to_blob(chip, js_input), spec.input.name);
  const cv::Mat out = net.forward(spec.outputs.at(0));
  ASSERT_EQ(out.total(), 128u);
  const std::vector<float> ours(out.ptr<float>(), out.ptr<float>() + 128);
  EXPECT_LT(lv::euclidean_distance(ours, reference), 1e-4);

  // The recognizer itself (dlib's 1/256) stays close to it and tags the template.
  const auto& rec = dynamic_cast<const lv::DlibRecognizer&>(engine().recognizer());
  const lc::Template t = rec.embed_chip(chip);
  EXPECT_EQ(t.model_id, "dlib_resnet");
  EXPECT_LT(lv::euclidean_distance(t.values, reference), 0.01);
  EXPECT_DOUBLE_EQ(rec.compare(t, t), 0.0);
  EXPECT_DOUBLE_EQ(rec.threshold(), -0.6);
}

TEST(DlibRecognizer, SeparatesAHandfulOfLfwPairsAtDlibsThreshold) {
  LANEFACE_REQUIRE_MODELS();
  LANEFACE_REQUIRE_DATA("lfw");
  const auto root = *lt::data_root() / "lfw";
  const auto pairs = laneface::eval::read_lfw_pairs(root / "pairs.txt");
  int same = 0, different = 0;
  for (const auto& pair : pairs.pairs) {  // the first five of each kind, in file order
    int& count = pair.same ? same : different;
    if (count >= 5) continue;
    ++count;
    lc::Template t[2];
    const std::string* names[2] = {&pair.a, &pair.b};
    for (int i = 0; i < 2; ++i) {
      const cv::Mat img = lc::read_image(root / "lfw" / *names[i]);
      const auto faces = engine().analyze(img);
      const auto k = lv::face_of_interest(faces, img.size());
      ASSERT_TRUE(k) << *names[i];
      t[i] = engine().embed(img, faces[*k]);
    }
    const double distance = -engine().recognizer().compare(t[0], t[1]);
    if (pair.same) {
      EXPECT_LT(distance, 0.6) << pair.a << " vs " << pair.b;
    } else {
      EXPECT_GT(distance, 0.6) << pair.a << " vs " << pair.b;
    }
  }
  EXPECT_EQ(same, 5);
  EXPECT_EQ(different, 5);
}
