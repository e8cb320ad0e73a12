#pragma once
// Value types shared by every module. Plain data, no behaviour beyond geometry.
#include <algorithm>
#include <array>
#include <opencv2/core/types.hpp>
#include <optional>
#include <string>
#include <vector>

namespace laneface::core {

// Axis-aligned box in image pixels, corners (x1, y1) inclusive-exclusive (x2, y2).
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return std::max(0.0f, width()) * std::max(0.0f, height()); }
  cv::Point2f center() const { return {(x1 + x2) / 2, (y1 + y2) / 2}; }
  cv::Rect2f rect() const { return {x1, y1, width(), height()}; }
};

inline float iou(const Box& a, const Box& b) {
  const float ix = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float iy = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = ix * iy;
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

using Landmarks68 = std::array<cv::Point2f, 68>;
// Left eye centre, right eye centre, nose tip, left mouth corner, right mouth corner
// ("left" = image left), the order of the ArcFace template.
using Landmarks5 = std::array<cv::Point2f, 5>;

// One detected face: one record with optional stages filled in as the pipeline runs.
struct Face {
  Box box;
  float score = 0;  // detector confidence 0..1
  std::optional<Landmarks68> landmarks68;
  std::optional<Landmarks5> landmarks5;
};

// A biometric template: the embedding and the model that made it. Templates of different
// models are never compared with each other.
struct Template {
  std::string model_id;
  std::vector<float> values;
};

}  // namespace laneface::core
