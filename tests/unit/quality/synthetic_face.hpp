#pragma once
// A drawn face with exactly known 68 landmarks, for quality tests that need no models: a
// textured skin ellipse, dark eyes and brows, a mouth. Landmarks follow the 68-point layout
// (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67).
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/types.hpp"

namespace laneface::test {

struct SyntheticFace {
  cv::Mat image;
  core::Face face;
};

// Frontal landmarks for a face whose eye midpoint is `c` and inter-eye distance `ied`.
inline core::Landmarks68 frontal_landmarks(cv::Point2f c, float ied) {
  core::Landmarks68 lm;
  const float u = ied;  // layout in units of the inter-eye distance, y down from the eye line
  auto at = [&](float x, float y) { return cv::Point2f(c.x + x * u, c.y + y * u); };
  for (int i = 0; i <= 16; ++i) {  // jaw: half ellipse from temple to temple through the chin
    const double a = CV_PI * (1.0 - i / 16.0);
    lm[i] = at(float(1.0 * std::cos(a)), float(0.05 + 1.76 * std::sin(a)));
  }
  for (int i = 0; i < 5; ++i) {
    lm[17 + i] = at(-0.96f + 0.19f * i, -0.19f - 0.05f * i);
    lm[22 + i] = at(0.2f + 0.19f * i, -0.39f + 0.05f * i);
  }
  for (int i = 0; i < 4; ++i) lm[27 + i] = at(0, 0.1f + 0.17f * i);
  for (int i = 0; i < 5; ++i) lm[31 + i] = at(-0.28f + 0.14f * i, 0.57f + 0.04f * float(i == 2));
  for (const int side : {-1, 1}) {
    const int b = side < 0 ? 36 : 42;
    const float w = 0.5f, h = 0.1f, x0 = 0.5f * side - w / 2;
    lm[b] = at(x0, 0);
    lm[b + 1] = at(x0 + w / 3, -h);
    lm[b + 2] = at(x0 + 2 * w / 3, -h);
    lm[b + 3] = at(x0 + w, 0);
    lm[b + 4] = at(x0 + 2 * w / 3, h);
    lm[b + 5] = at(x0 + w / 3, h);
  }
  for (int i = 0; i < 12; ++i) {  // outer lip ring from the left corner, clockwise
    const double a = CV_PI + 2 * CV_PI * i / 12.0;
    lm[48 + i] = at(float(0.39 * std::cos(a)), float(1.06 + 0.14 * std::sin(a)));
  }
  for (int i = 0; i < 8; ++i) {  // inner lips: closed mouth, 62 and 66 on the same spot
    const double a = CV_PI + 2 * CV_PI * i / 8.0;
    lm[60 + i] = at(float(0.3 * std::cos(a)), 1.06f);
  }
  return lm;
}

// A `size` image with one drawn face (eye midpoint `c`, inter-eye distance `ied`).
inline SyntheticFace synthetic_face(cv::Size size, cv::Point2f c, float ied, unsigned seed = 1) {
  SyntheticFace s;
  s.image = cv::Mat(size, CV_8UC3, cv::Scalar(90, 110, 100));
  const auto lm = frontal_landmarks(c, ied);
  cv::ellipse(s.image, cv::Point2f(c.x, c.y + 0.35f * ied), cv::Size2f(2.0f * ied, 3.3f * ied), 0,
              0, 360, cv::Scalar(120, 150, 190), cv::FILLED);
  cv::Mat noise(size, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, 18);
  cv::GaussianBlur(noise, noise, {0, 0}, 0.7);
  s.image += noise;
  for (const int b : {36, 42}) {
    std::vector<cv::Point> eye;
    for (int i = 0; i < 6; ++i) eye.emplace_back(lm[b + i]);
    cv::fillConvexPoly(s.image, eye, cv::Scalar(40, 40, 40));
  }
  for (int i = 17; i < 26; ++i) {
    if (i != 21)
      cv::line(s.image, lm[i], lm[i + 1], cv::Scalar(40, 50, 60), std::max(1, int(ied / 20)));
  }
  cv::line(s.image, lm[48], lm[54], cv::Scalar(60, 60, 150), std::max(1, int(ied / 15)));
  cv::line(s.image, lm[27], lm[30], cv::Scalar(100, 120, 160), std::max(1, int(ied / 30)));
  s.face.landmarks68 = lm;
  float x1 = 1e9f, y1 = 1e9f, x2 = -1e9f, y2 = -1e9f;
  for (const auto& p : lm) {
    x1 = std::min(x1, p.x), y1 = std::min(y1, p.y), x2 = std::max(x2, p.x), y2 = std::max(y2, p.y);
  }
  s.face.box = {x1, y1 - 0.4f * ied, x2, y2};
  s.face.score = 1;
  return s;
}

}  // namespace laneface::test
