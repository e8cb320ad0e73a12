// TF.js weight manifests on small constructed examples: dequantisation, float32 offsets, and a
// clear error naming the file and the tensor for every kind of mismatch.
#include "vision/tfjs_weights.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace lv = laneface::vision;
namespace lc = laneface::core;

namespace {

// "q": uint8 [2, 2] with min -1, scale 0.5; then "f": float32 [3].
const std::string kManifest = R"([{"paths": ["w.bin"], "weights": [
  {"name": "q", "shape": [2, 2], "dtype": "float32",
   "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.5}},
  {"name": "f", "shape": [3], "dtype": "float32"}]}])";

std::vector<std::uint8_t> good_bin() {
  std::vector<std::uint8_t> bin{0, 1, 2, 4};
  const float f[3] = {1.5f, -2.0f, 3.25f};
  bin.resize(4 + sizeof f);
  std::memcpy(bin.data() + 4, f, sizeof f);
  return bin;
}

// Runs `fn`, expects core::Error of `kind` whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn fn, lc::ErrorKind kind, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const lc::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(TfjsWeights, DequantizesUint8AndReadsFloat32AtTheirOwnOffsets) {
  const auto w = lv::TfjsWeights::parse(kManifest, "m.json", good_bin(), "w.bin");
  EXPECT_EQ(w.names(), (std::vector<std::string>{"q", "f"}));
  EXPECT_EQ(w.get("q", {2, 2}).values, (std::vector<float>{-1.0f, -0.5f, 0.0f, 1.0f}));
  EXPECT_EQ(w.get("f", {3}).values, (std::vector<float>{1.5f, -2.0f, 3.25f}));
}

TEST(TfjsWeights, AcceptsTheModelJsonForm) {
  const auto w = lv::TfjsWeights::parse(R"({"weightsManifest": )" + kManifest + "}", "model.json",
                                        good_bin(), "w.bin");
  EXPECT_TRUE(w.contains("f"));
}

TEST(TfjsWeights, TruncatedBinNamesTheTensorAndTheFile) {
  auto bin = good_bin();
  bin.pop_back();
  expect_error([&] { lv::TfjsWeights::parse(kManifest, "m.json", bin, "w.bin"); },
               lc::ErrorKind::kModelIntegrity, {"m.json", "'f'", "w.bin"});
}

TEST(TfjsWeights, ExtraBytesAreAnError) {
  auto bin = good_bin();
  bin.push_back(0);
  expect_error([&] { lv::TfjsWeights::parse(kManifest, "m.json", bin, "w.bin"); },
               lc::ErrorKind::kModelIntegrity, {"m.json", "w.bin", "16", "17"});
}

TEST(TfjsWeights, WrongShapeNamesTheTensor) {
  const auto w = lv::TfjsWeights::parse(kManifest, "m.json", good_bin(), "w.bin");
  expect_error([&] { w.get("q", {4}); }, lc::ErrorKind::kModelIntegrity,
               {"m.json", "'q'", "[2, 2]", "[4]"});
  expect_error([&] { w.get("missing"); }, lc::ErrorKind::kModelIntegrity, {"m.json", "'missing'"});
}

TEST(TfjsWeights, UnknownDtypesAreRejected) {
  std::string m = kManifest;
  m.replace(m.find("\"uint8\""), 7, "\"uint16\"");
  expect_error([&] { lv::TfjsWeights::parse(m, "m.json", good_bin(), "w.bin"); },
               lc::ErrorKind::kInvalidInput, {"m.json", "'q'", "uint16"});
  m = kManifest;
  m.replace(m.rfind("\"float32\""), 9, "\"int32\"");
  expect_error([&] { lv::TfjsWeights::parse(m, "m.json", good_bin(), "w.bin"); },
               lc::ErrorKind::kInvalidInput, {"m.json", "'f'", "int32"});
}

TEST(TfjsWeights, MalformedManifestsAreInvalidInput) {
  expect_error([] { lv::TfjsWeights::parse("[{", "m.json", {}, "w.bin"); },
               lc::ErrorKind::kInvalidInput, {"m.json"});
  expect_error(
      [] { lv::TfjsWeights::parse(R"([{"weights": [{"name": "x"}]}])", "m.json", {}, "w.bin"); },
      lc::ErrorKind::kInvalidInput, {"m.json"});
  std::string twice = kManifest;
  twice.replace(twice.find("\"f\""), 3, "\"q\"");
  expect_error([&] { lv::TfjsWeights::parse(twice, "m.json", good_bin(), "w.bin"); },
               lc::ErrorKind::kModelIntegrity, {"m.json", "'q'", "twice"});
}
