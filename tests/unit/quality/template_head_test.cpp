// The learned measure TemplateQualityHead without models: its model file (load, errors that
// name the file), the template it reads, and how the config names its file.
#include "quality/template_head.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/error.hpp"
#include "quality/assessor.hpp"
#include "support/test_support.hpp"
#include "unit/quality/synthetic_face.hpp"

namespace lq = laneface::quality;
namespace lt = laneface::test;

namespace {

std::filesystem::path write(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(TemplateHead, MirroredTemplateIsTheNormalisedSumOfTheNormalisedEmbeddings) {
  const std::vector<float> a{3, 0, 0, 4}, b{0, 2, 0, 0};
  const auto t = lq::mirrored_template(a, b);
  ASSERT_EQ(t.size(), 4u);
  // a / 5 + b / 2 = (0.6, 1, 0, 0.8), norm sqrt(2).
  EXPECT_NEAR(t[0], 0.6 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(t[1], 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(t[2], 0.0, 1e-6);
  EXPECT_NEAR(t[3], 0.8 / std::sqrt(2.0), 1e-6);
  EXPECT_TRUE(lq::mirrored_template(a, std::vector<float>{0, 0, 0, 0}).empty());
  EXPECT_TRUE(lq::mirrored_template(a, std::vector<float>{1, 2}).empty());
}

TEST(TemplateHead, PredictsAndRoundTripsThroughItsFile) {
  lq::TemplateHead h;
  h.recognizer = "fr_feature";
  h.weights = {0.5, -1.0, 2.0};
  h.norm_weight = 0.1;
  h.bias = 0.25;
  const std::vector<float> t{1, 1, 0.5};
  EXPECT_NEAR(h.predict(t, 3.0), 0.25 + 0.5 - 1.0 + 1.0 + 0.3, 1e-12);
  const auto path = write("laneface_head_ok.json", h.to_json().dump());
  const auto back = lq::TemplateHead::load(path);
  EXPECT_EQ(back.recognizer, "fr_feature");
  EXPECT_EQ(back.weights, h.weights);
  EXPECT_DOUBLE_EQ(back.predict(t, 3.0), h.predict(t, 3.0));
  EXPECT_THROW(h.predict(std::vector<float>{1, 2}, 0), laneface::core::Error);
  EXPECT_TRUE(back.component_weights.empty());
}

TEST(TemplateHead, UnifiedHeadReadsComponentsByNameThroughItsFile) {
  lq::TemplateHead h;
  h.recognizer = "fr_feature";
  h.weights = {1.0, 0.0};
  h.bias = 0.1;
  h.component_weights = {{"Sharpness", 0.002}, {"InterEyeDistance", 0.001}};
  const std::vector<float> t{0.5, 0.5};
  const std::vector<double> c{50, 20};
  EXPECT_NEAR(h.predict(t, 0, c), 0.1 + 0.5 + 0.1 + 0.02, 1e-12);
  EXPECT_THROW(h.predict(t, 0), laneface::core::Error);  // components missing
  const auto path = write("laneface_unified_head_ok.json", h.to_json().dump());
  const auto back = lq::TemplateHead::load(path);
  ASSERT_EQ(back.component_weights.size(), 2u);
  // Stored by name: read back in the file's (name) order.
  EXPECT_EQ(back.component_weights[0].first, "InterEyeDistance");
  EXPECT_DOUBLE_EQ(back.component_weights[0].second, 0.001);
  EXPECT_NEAR(back.predict(t, 0, std::vector<double>{20, 50}), h.predict(t, 0, c), 1e-12);
}

TEST(TemplateHead, BadFilesAreConfigErrorsThatNameTheFile) {
  auto expect_error = [](const std::filesystem::path& path, const std::string& needle) {
    try {
      lq::TemplateHead::load(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const laneface::core::Error& e) {
      EXPECT_EQ(e.kind(), laneface::core::ErrorKind::kConfig);
      EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(std::filesystem::temp_directory_path() / "laneface_head_missing.json",
               "cannot read");
  expect_error(write("laneface_head_text.json", "not json"), "not a JSON object");
  expect_error(write("laneface_head_keys.json", R"({"recognizer": "fr_feature"})"), "required");
  expect_error(write("laneface_head_empty.json",
                     R"({"recognizer": "fr_feature", "weights": [], "norm_weight": 0, "bias": 0})"),
               "empty");
}

TEST(TemplateHead, ConfigNamesTheModelRelativeToItsFolderAndTheMeasureNeedsIt) {
  const auto dir = std::filesystem::temp_directory_path() / "laneface_head_cfg";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "head.json")
      << R"({"recognizer": "fr_feature", "weights": [1, 2], "norm_weight": 0, "bias": 0.5})";
  std::ofstream(dir / "q.toml") << "[quality.measures.TemplateQualityHead]\n"
                                   "mapping = { kind = \"linear\", from = 0.2, to = 0.8 }\n"
                                   "model = \"head.json\"\nunified_weight = 1\n";
  const auto cfg = lq::QualityConfig::load(dir / "q.toml");
  ASSERT_EQ(cfg.measures.size(), 1u);
  EXPECT_EQ(cfg.measures[0].model, dir / "head.json");
  // Without the recognizer it fails to assess, with the reason.
  const lq::Assessor a(cfg);
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const auto r = a.assess(s.image, std::span(&s.face, 1), 0);
  const auto* m = r.find("TemplateQualityHead");
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(m->raw);
  EXPECT_NE(m->failure.find("recognizer model not loaded"), std::string::npos) << m->failure;
  // No model file named: a config error naming the measure.
  std::ofstream(dir / "q2.toml") << "[quality.measures.TemplateQualityHead]\n"
                                    "mapping = { kind = \"linear\", from = 0.2, to = 0.8 }\n";
  try {
    lq::Assessor b(lq::QualityConfig::load(dir / "q2.toml"));
    ADD_FAILURE() << "no error without a model file";
  } catch (const laneface::core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("TemplateQualityHead"), std::string::npos) << e.what();
  }
}
