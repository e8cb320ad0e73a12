#include "vision/photometric.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"

namespace laneface::vision {

using core::Error;
using core::ErrorKind;

namespace {

void gray_world(cv::Mat& img, double max_gain) {
  const cv::Scalar m = cv::mean(img);
  const double gray = (m[0] + m[1] + m[2]) / 3;
  if (!(gray > 1)) return;  // black: nothing to balance
  cv::Scalar gain;
  for (int c = 0; c < 3; ++c) {
    gain[c] = m[c] > 0 ? std::clamp(gray / m[c], 1 / max_gain, max_gain) : max_gain;
  }
  cv::multiply(img, gain, img);  // saturating
}

// Luminance (BT.601) percentile of an 8-bit histogram.
int percentile(const std::array<double, 256>& hist, double total, double p) {
  const double target = total * p / 100;
  double acc = 0;
  for (int v = 0; v < 256; ++v) {
    acc += hist[std::size_t(v)];
    if (acc >= target && acc > 0) return v;
  }
  return 255;
}

void stretch(cv::Mat& img, const cv::Rect& face, const PhotometricOptions& o) {
  const cv::Rect r = face & cv::Rect({0, 0}, img.size());
  if (r.area() < 4) return;
  cv::Mat luma;
  cv::cvtColor(img(r), luma, cv::COLOR_BGR2GRAY);
  std::array<double, 256> hist{};
  for (int y = 0; y < luma.rows; ++y) {
    const auto* p = luma.ptr<std::uint8_t>(y);
    for (int x = 0; x < luma.cols; ++x) hist[p[x]] += 1;
  }
  const double total = double(luma.total());
  const int lo = percentile(hist, total, o.low_percentile);
  const int hi = percentile(hist, total, o.high_percentile);
  if (hi - lo < o.min_range) return;  // flat: nothing to stretch but noise
  const double gain = std::min(o.max_stretch_gain, 255.0 / (hi - lo));
  // The same map on every channel (hue kept): the black point to 0, the white point to 255.
  img.convertTo(img, -1, gain, -gain * lo);
}

}  // namespace

cv::Mat normalise_photometric(const cv::Mat& bgr, const cv::Rect& face, Normalise mode,
                              const PhotometricOptions& options) {
  if (bgr.empty()) return {};
  if (bgr.type() != CV_8UC3) {
    throw Error(ErrorKind::kInvalidInput,
                "photometric normalisation: expects an 8-bit 3-channel image, got type " +
                    std::to_string(bgr.type()));
  }
  cv::Mat out = bgr.clone();
  if (mode == Normalise::kGrayWorld || mode == Normalise::kGrayWorldStretch) {
    gray_world(out, options.max_balance_gain);
  }
  if (mode == Normalise::kStretch || mode == Normalise::kGrayWorldStretch) {
    stretch(out, face, options);
  }
  return out;
}

}  // namespace laneface::vision
