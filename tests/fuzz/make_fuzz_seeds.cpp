// Writes the seed corpus of fuzz_image_detect: the demo photos (var/samples, fetched by
// scripts/setup, never committed) shrunk to fit the fuzz limits and encoded in every format
// decode_image accepts, plus a few tiny images with odd sizes and channel layouts.
// Usage: make_fuzz_seeds OUT_DIR [SAMPLES_DIR]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

int g_written = 0;

void write(const fs::path& dir, const std::string& name, const cv::Mat& image,
           const std::vector<int>& params = {}) {
  const fs::path path = dir / name;
  if (!cv::imwrite(path.string(), image, params)) {
    std::fprintf(stderr, "make_fuzz_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  ++g_written;
}

cv::Mat shrink(const cv::Mat& src, int max_side) {
  const double s = double(max_side) / std::max(src.cols, src.rows);
  cv::Mat out;
  cv::resize(src, out, {}, s, s, cv::INTER_AREA);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds OUT_DIR [SAMPLES_DIR]\n");
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);

  // Tiny images: sizes 1x1 .. 17x3, gray, alpha, 16-bit, progressive JPEG.
  cv::RNG rng(1);
  cv::Mat noise(17, 23, CV_8UC3);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
  write(out, "tiny_1x1.png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(10, 200, 30)));
  write(out, "tiny_1x1.jpg", cv::Mat(1, 1, CV_8UC1, cv::Scalar(99)));
  write(out, "tiny_2x3.bmp", noise(cv::Rect(0, 0, 2, 3)).clone());
  write(out, "tiny_17x3.ppm", noise(cv::Rect(0, 0, 17, 3)).clone());
  cv::Mat gray;
  cv::cvtColor(noise, gray, cv::COLOR_BGR2GRAY);
  write(out, "tiny_gray.pgm", gray);
  write(out, "tiny_gray.png", gray);
  cv::Mat bgra;
  cv::cvtColor(noise, bgra, cv::COLOR_BGR2BGRA);
  write(out, "tiny_alpha.png", bgra);
  cv::Mat deep;
  noise.convertTo(deep, CV_16UC3, 257);
  write(out, "tiny_16bit.png", deep);
  write(out, "tiny_progressive.jpg", noise, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  write(out, "tiny_4x4.pbm", gray(cv::Rect(0, 0, 4, 4)) > 128);

  // The demo photos: the 480 px JPEGs keep faces of 25-120 px, so the detector and landmarks run.
  const fs::path samples = argc > 2 ? fs::path(argv[2]) : fs::path();
  int photos = 0;
  if (!samples.empty() && fs::is_directory(samples)) {
    for (const auto& entry : fs::directory_iterator(samples)) {
      if (entry.path().extension() != ".jpg") continue;
      const cv::Mat photo = cv::imread(entry.path().string(), cv::IMREAD_COLOR);
      if (photo.empty()) continue;
      const std::string stem = entry.path().stem().string();
      write(out, stem + "_480.jpg", shrink(photo, 480), {cv::IMWRITE_JPEG_QUALITY, 85});
      write(out, stem + "_240.png", shrink(photo, 240));
      write(out, stem + "_96.bmp", shrink(photo, 96));
      write(out, stem + "_64.ppm", shrink(photo, 64));
      ++photos;
    }
  }
  std::printf("make_fuzz_seeds: %d seeds in %s (%d demo photos%s)\n", g_written, out.c_str(),
              photos, photos ? "" : "; run scripts/setup for var/samples");
  return 0;
}
