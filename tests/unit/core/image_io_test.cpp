#include "core/image_io.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "core/error.hpp"

namespace lc = laneface::core;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> encode(const std::string& ext, cv::Size size = {64, 48}) {
  cv::Mat img(size, CV_8UC3);
  cv::randu(img, 0, 255);
  std::vector<std::uint8_t> out;
  cv::imencode(ext, img, out);
  return out;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("laneface_io_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return p;
  }
  fs::path dir_;
};

// Expects read_image to throw the given kind, with a message naming the file and `problem`.
void expect_error(const fs::path& p, lc::ErrorKind kind, const std::string& problem) {
  try {
    lc::read_image(p);
    FAIL() << p << " was accepted";
  } catch (const lc::Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
  }
}

}  // namespace

TEST_F(TempDir, DecodesJpegPngBmpToBgr) {
  for (const std::string ext : {".jpg", ".png", ".bmp"}) {
    const cv::Mat img = lc::read_image(write("ok" + ext, encode(ext)));
    EXPECT_EQ(img.cols, 64);
    EXPECT_EQ(img.rows, 48);
    EXPECT_EQ(img.type(), CV_8UC3) << ext;
  }
}

TEST_F(TempDir, GrayscaleBecomesThreeChannels) {
  cv::Mat gray(10, 12, CV_8UC1, cv::Scalar(77));
  std::vector<std::uint8_t> bytes;
  cv::imencode(".png", gray, bytes);
  const cv::Mat img = lc::read_image(write("gray.png", bytes));
  ASSERT_EQ(img.type(), CV_8UC3);
  EXPECT_EQ(img.at<cv::Vec3b>(5, 5), cv::Vec3b(77, 77, 77));
}

TEST_F(TempDir, EmptyFile) {
  expect_error(write("empty.jpg", {}), lc::ErrorKind::kInvalidInput, "empty file");
}

TEST_F(TempDir, MissingFile) {
  expect_error(dir_ / "nope.jpg", lc::ErrorKind::kNotFound, "no such file");
}

TEST_F(TempDir, Directory) { expect_error(dir_, lc::ErrorKind::kInvalidInput, "is a directory"); }

TEST_F(TempDir, TextFile) {
  const std::string text = "this is not an image\n";
  expect_error(write("notes.jpg", {text.begin(), text.end()}), lc::ErrorKind::kInvalidInput,
               "not a supported image");
}

TEST_F(TempDir, TruncatedJpeg) {
  auto bytes = encode(".jpg", {320, 240});
  bytes.resize(bytes.size() / 2);
  expect_error(write("cut.jpg", bytes), lc::ErrorKind::kInvalidInput, "truncated JPEG");
}

TEST_F(TempDir, TruncatedPng) {
  auto bytes = encode(".png", {320, 240});
  bytes.resize(bytes.size() / 2);
  expect_error(write("cut.png", bytes), lc::ErrorKind::kInvalidInput, "truncated PNG");
}

TEST_F(TempDir, PngWithLyingHeader) {
  auto bytes = encode(".png", {64, 48});
  bytes[16 + 3] = 200;  // IHDR width 64 -> 200: the CRC and the data no longer agree
  expect_error(write("liar.png", bytes), lc::ErrorKind::kInvalidInput, "liar.png");
}

TEST_F(TempDir, HugeHeaderIsRefusedBeforeDecoding) {
  auto bytes = encode(".png", {64, 48});
  // Claim 30000x30000 in the IHDR.
  for (int off : {16, 20}) {
    bytes[off] = 0;
    bytes[off + 1] = 0;
    bytes[off + 2] = 0x75;
    bytes[off + 3] = 0x30;
  }
  expect_error(write("bomb.png", bytes), lc::ErrorKind::kInvalidInput, "30000x30000");
  auto jpeg = encode(".jpg", {64, 48});
  // Patch the SOF0 frame header's height and width.
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = 0x75, jpeg[i + 6] = 0x30, jpeg[i + 7] = 0x75, jpeg[i + 8] = 0x30;
      break;
    }
  }
  expect_error(write("bomb.jpg", jpeg), lc::ErrorKind::kInvalidInput, "30000x30000");
}

TEST(ImageHeader, ProbesSizesWithoutDecoding) {
  const auto png = encode(".png", {33, 21});
  const auto h = lc::probe_image_header(png, "x.png");
  EXPECT_EQ(h.format, "png");
  EXPECT_EQ(h.width, 33);
  EXPECT_EQ(h.height, 21);
  const auto jpg = encode(".jpg", {50, 70});
  const auto j = lc::probe_image_header(jpg, "x.jpg");
  EXPECT_EQ(j.format, "jpeg");
  EXPECT_EQ(j.width, 50);
  EXPECT_EQ(j.height, 70);
}
