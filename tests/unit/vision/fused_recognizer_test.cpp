#include "vision/fused_recognizer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace lv = laneface::vision;
namespace lc = laneface::core;
namespace fs = std::filesystem;

namespace {

// A stand-in recognizer: template = the given values, score = minus the absolute difference of
// the first values. Enough to check how fusion splits templates and combines scores.
class FakeRecognizer final : public lv::Recognizer {
 public:
  FakeRecognizer(std::string id, std::size_t size) : id_(std::move(id)), size_(size) {}
  const std::string& model_id() const override { return id_; }
  std::size_t template_size() const override { return size_; }
  lc::Template embed(const cv::Mat&, const lc::Face&) const override {
    return {id_, std::vector<float>(size_, 1.0f)};
  }
  double compare(const lc::Template& a, const lc::Template& b) const override {
    EXPECT_EQ(a.model_id, id_);
    EXPECT_EQ(a.values.size(), size_);
    return -std::abs(a.values[0] - b.values[0]);
  }
  double threshold() const override { return 0; }

 private:
  std::string id_;
  std::size_t size_;
};

lv::FusedRecognizer make_fused(lv::FusionParams params) {
  std::vector<std::unique_ptr<lv::Recognizer>> parts;
  parts.push_back(std::make_unique<FakeRecognizer>("a", 3));
  parts.push_back(std::make_unique<FakeRecognizer>("b", 2));
  return lv::FusedRecognizer(std::move(parts), std::move(params));
}

}  // namespace

TEST(Fusion, FitNormIsMeanAndSampleStddev) {
  const std::vector<double> s{1, 2, 3, 4};
  const auto n = lv::fit_norm(s);
  EXPECT_DOUBLE_EQ(n.mean, 2.5);
  EXPECT_NEAR(n.stddev, 1.2909944, 1e-6);
  EXPECT_THROW(lv::fit_norm(std::vector<double>{1, 1, 1}), lc::Error);
}

TEST(Fusion, SumsZNormalisedScores) {
  const std::vector<lv::ScoreNorm> norms{{0.1, 0.05}, {-1.0, 0.5}};
  EXPECT_DOUBLE_EQ(lv::fuse_scores(std::vector<double>{0.2, -0.5}, norms), 2.0 + 1.0);
}

TEST(Fusion, SplitsTemplatesAndComparesPerPart) {
  const auto fused = make_fused({{"a", "b"}, {{0, 1}, {0, 2}}, 0.5, "test"});
  EXPECT_EQ(fused.model_id(), "fused:a+b");
  EXPECT_EQ(fused.template_size(), 5u);
  const lc::Template x{"fused:a+b", {1, 0, 0, 5, 0}}, y{"fused:a+b", {3, 0, 0, 6, 0}};
  const auto parts = fused.split(x);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].model_id, "b");
  EXPECT_EQ(parts[1].values, (std::vector<float>{5, 0}));
  EXPECT_EQ(fused.part_scores(x, y), (std::vector<double>{-2, -1}));
  EXPECT_DOUBLE_EQ(fused.compare(x, y), -2.0 / 1 + -1.0 / 2);
  EXPECT_THROW(fused.split(lc::Template{"fused:a+b", {1, 2}}), lc::Error);
  EXPECT_THROW(fused.split(lc::Template{"a", {1, 2, 3, 4, 5}}), lc::Error);
}

TEST(Fusion, RefusesPartsThatDoNotMatchTheCalibration) {
  EXPECT_THROW(make_fused({{"b", "a"}, {{0, 1}, {0, 1}}, 0, ""}), lc::Error);
  EXPECT_THROW(make_fused({{"a"}, {{0, 1}}, 0, ""}), lc::Error);
}

TEST(Fusion, CalibrationFileRoundTripsAndBadFilesNameTheProblem) {
  const fs::path dir =
      fs::temp_directory_path() / ("laneface_fusion_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const lv::FusionParams p{{"a", "b"}, {{0.25, 0.125}, {-0.5, 0.0625}}, 3.5, "unit test"};
  p.save(dir / "f.toml");
  const auto q = lv::FusionParams::load(dir / "f.toml");
  EXPECT_EQ(q.parts, p.parts);
  EXPECT_DOUBLE_EQ(q.norms[1].stddev, 0.0625);
  EXPECT_DOUBLE_EQ(q.threshold, 3.5);
  EXPECT_EQ(q.calibration, "unit test");
  std::ofstream(dir / "bad.toml")
      << "[fusion]\nparts = [\"a\", \"b\"]\nthreshold = 1\n[fusion.norm.a]\nmean = 0\nstddev = 0\n";
  try {
    lv::FusionParams::load(dir / "bad.toml");
    FAIL();
  } catch (const lc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fusion.norm.a"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lv::FusionParams::load(dir / "absent.toml"), lc::Error);
  fs::remove_all(dir);
}
