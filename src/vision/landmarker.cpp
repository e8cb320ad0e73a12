#include "vision/landmarker.hpp"

#include <cmath>

#include "core/error.hpp"
#include "vision/preprocess.hpp"

namespace laneface::vision {

Landmarker::Landmarker(std::shared_ptr<NetPool> pool) : pool_(std::move(pool)) {
  const auto points = pool_->spec().param("points");
  if (points != 68) {
    throw core::Error(core::ErrorKind::kConfig,
                      pool_->spec().id + ": only 68-point models are supported");
  }
}

cv::Rect landmark_crop(const core::Box& box, cv::Size image) {
  int w = std::max(1, static_cast<int>(std::lround(box.width())));
  int h = std::max(1, static_cast<int>(std::lround(box.height())));
  w = std::min(w, image.width);
  h = std::min(h, image.height);
  int x = static_cast<int>(std::lround(box.x1));
  int y = static_cast<int>(std::lround(box.y1));
  x = std::clamp(x, 0, image.width - w);
  y = std::clamp(y, 0, image.height - h);
  return {x, y, w, h};
}

core::Landmarks68 Landmarker::predict(const cv::Mat& bgr, const core::Box& box) const {
  const ModelSpec& spec = pool_->spec();
  const PreparedInput in =
      crop_resize(bgr, landmark_crop(box, bgr.size()), {spec.input.width, spec.input.height});
  cv::Mat blob = to_blob(in.image, spec.input);
  cv::Mat out;
  {
    auto lease = pool_->acquire();
    lease.net().setInput(blob, spec.input.name);
    out = lease.net().forward(spec.outputs.at(0));
  }
  if (out.total() != 136) {
    throw core::Error(core::ErrorKind::kModelIntegrity, spec.file + ": expected 136 outputs");
  }
  const float* p = out.ptr<float>();
  core::Landmarks68 lm;
  for (int i = 0; i < 68; ++i) {
    lm[i] = in.transform.to_source({p[2 * i] * spec.input.width, p[2 * i + 1] * spec.input.height});
  }
  return lm;
}

core::Landmarks68 Landmarker::predict_averaged(const cv::Mat& bgr, const core::Box& box,
                                               float shift) const {
  const float dx = box.width() * shift, dy = box.height() * shift;
  core::Landmarks68 sum{};
  int n = 0;
  for (const auto& [ox, oy] :
       {std::pair{0.0f, 0.0f}, {-dx, 0.0f}, {dx, 0.0f}, {0.0f, -dy}, {0.0f, dy}}) {
    const auto lm = predict(bgr, {box.x1 + ox, box.y1 + oy, box.x2 + ox, box.y2 + oy});
    for (int i = 0; i < 68; ++i) sum[i] += lm[i];
    ++n;
  }
  for (auto& p : sum) p /= float(n);
  return sum;
}

core::Landmarks5 reduce_to_5(const core::Landmarks68& lm) {
  auto mean = [&](int from, int to) {
    cv::Point2f s(0, 0);
    for (int i = from; i <= to; ++i) s += lm[i];
    return s / float(to - from + 1);
  };
  return {mean(36, 41), mean(42, 47), lm[30], lm[48], lm[54]};
}

}  // namespace laneface::vision
