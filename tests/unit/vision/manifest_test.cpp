#include "vision/manifest.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "vision/sha256.hpp"

namespace lv = laneface::vision;
namespace lc = laneface::core;
namespace fs = std::filesystem;

namespace {

const char* kGood = R"(
[packages.p]
npm = "x@1"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[models.m]
role = "detector"
package = "p"
source = "package/m.onnx"
file = "m.onnx"
sha256 = "SHA"
outputs = ["out"]
[models.m.input]
name = "input"
width = 4
height = 3
channel_order = "rgb"
mean = [1.0, 2.0, 3.0]
scale = 0.5
[models.m.params]
score_threshold = 0.7
)";

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("laneface_manifest_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "m.onnx") << "model bytes";
    const auto bytes = lv::read_file_bytes(dir_ / "m.onnx");
    sha_ = lv::sha256_hex(bytes);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(std::string text, const std::string& sha) {
    text.replace(text.find("SHA"), 3, sha);
    std::ofstream(dir_ / "manifest.toml") << text;
    return dir_ / "manifest.toml";
  }
  fs::path dir_;
  std::string sha_;
};

}  // namespace

TEST_F(ManifestTest, ParsesInputSpecAndParams) {
  const auto m = lv::Manifest::load(write(kGood, sha_));
  const auto& s = m.model("m");
  EXPECT_EQ(s.input.width, 4);
  EXPECT_EQ(s.input.channels, lv::ChannelOrder::kRgb);
  EXPECT_EQ(s.input.mean, (std::vector<double>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(s.param("score_threshold"), 0.7);
  EXPECT_THROW(s.param("missing"), lc::Error);
  EXPECT_EQ(lv::load_verified_model(m, s).size(), 11u);
}

TEST_F(ManifestTest, HashMismatchNamesFileAndBothHashes) {
  const std::string wrong(64, 'a');
  const auto m = lv::Manifest::load(write(kGood, wrong));
  try {
    lv::load_verified_model(m, m.model("m"));
    FAIL() << "a model with the wrong hash loaded";
  } catch (const lc::Error& e) {
    EXPECT_EQ(e.kind(), lc::ErrorKind::kModelIntegrity);
    const std::string what = e.what();
    EXPECT_NE(what.find("m.onnx"), std::string::npos);
    EXPECT_NE(what.find(wrong), std::string::npos);
    EXPECT_NE(what.find(sha_), std::string::npos);
  }
}

TEST_F(ManifestTest, MissingModelFileSaysToRunSetup) {
  const auto m = lv::Manifest::load(write(kGood, sha_));
  fs::remove(dir_ / "m.onnx");
  try {
    lv::load_verified_model(m, m.model("m"));
    FAIL();
  } catch (const lc::Error& e) {
    EXPECT_EQ(e.kind(), lc::ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("scripts/setup"), std::string::npos);
  }
}

TEST_F(ManifestTest, BadManifestsAreConfigErrorsNamingTheKey) {
  const std::string not_hex = "xyz";
  EXPECT_THROW(lv::Manifest::load(write(kGood, not_hex)), lc::Error);
  std::string no_scale = kGood;
  no_scale.replace(no_scale.find("scale = 0.5"), 11, "");
  try {
    lv::Manifest::load(write(no_scale, sha_));
    FAIL();
  } catch (const lc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("scale"), std::string::npos) << e.what();
  }
  std::ofstream(dir_ / "broken.toml") << "[models\nrole=";
  EXPECT_THROW(lv::Manifest::load(dir_ / "broken.toml"), lc::Error);
  EXPECT_THROW(lv::Manifest::load(dir_ / "absent.toml"), lc::Error);
}
