#include "vision/detector.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "vision/preprocess.hpp"

namespace laneface::vision {

Detector::Detector(std::shared_ptr<NetPool> pool) : pool_(std::move(pool)) {
  const ModelSpec& spec = pool_->spec();
  input_ = {spec.input.width, spec.input.height};
  score_threshold_ = static_cast<float>(spec.param("score_threshold"));
  nms_iou_ = static_cast<float>(spec.param("nms_iou"));
  min_input_face_ = spec.param("min_input_face");
  level_step_ = spec.param("pyramid_step");
  verify_threshold_ = static_cast<float>(spec.param("verify_threshold"));
}

std::vector<DetectorView> Detector::plan(cv::Size image, int min_face) const {
  std::vector<DetectorView> views;
  const double s0 =
      std::max(double(image.width) / input_.width, double(image.height) / input_.height);
  views.push_back({cv::Rect({0, 0}, image), s0});
  // Finest scale at which the smallest wanted face still spans min_input_face_ input pixels;
  // never upsample more than 4/3.
  const double s_fine = std::max(0.75, std::max(1, min_face) / min_input_face_);
  double coarser = s0;
  while (coarser > s_fine * 1.25) {
    const double s = std::max(s_fine, coarser / level_step_);
    const int tw = static_cast<int>(std::ceil(input_.width * s));
    const int th = static_cast<int>(std::ceil(input_.height * s));
    // A face too small for the coarser level must fit wholly inside some tile.
    const int overlap = static_cast<int>(std::ceil(min_input_face_ * coarser * 1.25));
    auto starts = [&](int total, int tile) {
      std::vector<int> out;
      if (tile >= total) return std::vector<int>{0};
      const int step = std::max(1, tile - overlap);
      const int n = static_cast<int>(std::ceil(double(total - tile) / step)) + 1;
      for (int i = 0; i < n; ++i) {
        out.push_back(static_cast<int>(std::lround(double(total - tile) * i / std::max(1, n - 1))));
      }
      return out;
    };
    for (const int y : starts(image.height, th)) {
      for (const int x : starts(image.width, tw)) {
        views.push_back(
            {cv::Rect(x, y, std::min(tw, image.width - x), std::min(th, image.height - y)), s,
             static_cast<float>(overlap)});
      }
    }
    coarser = s;
  }
  return views;
}

std::vector<core::Face> Detector::detect_view(const cv::Mat& bgr, const DetectorView& view,
                                              float score_threshold) const {
  const ModelSpec& spec = pool_->spec();
  const cv::Scalar pad = cv::Scalar::all(spec.input.mean[0]);
  const PreparedInput in = letterbox(bgr, view.roi, input_, pad);
  cv::Mat blob = to_blob(in.image, spec.input);
  std::vector<cv::Mat> outs;
  {
    auto lease = pool_->acquire();
    lease.net().setInput(blob, spec.input.name);
    lease.net().forward(outs, spec.outputs);
  }
  const cv::Mat& boxes = outs.at(0);   // 1xNx4, x1 y1 x2 y2 in 0..1 of the input
  const cv::Mat& scores = outs.at(1);  // 1xNx2, column 1 = face
  const int n = boxes.size[1];
  if (boxes.total() != std::size_t(n) * 4 || scores.total() != std::size_t(n) * 2) {
    throw core::Error(core::ErrorKind::kModelIntegrity, spec.file + ": unexpected output shapes");
  }
  const auto* b = boxes.ptr<float>();
  const auto* s = scores.ptr<float>();
  // The part of the input that holds image content (the rest is letterbox padding).
  const cv::Point2f content = in.transform.to_model(
      {float(view.roi.x + view.roi.width), float(view.roi.y + view.roi.height)});
  const float edge_tol = 2.0f;  // input px
  const bool inner_left = view.roi.x > 0, inner_top = view.roi.y > 0;
  const bool inner_right = view.roi.x + view.roi.width < bgr.cols;
  const bool inner_bottom = view.roi.y + view.roi.height < bgr.rows;
  std::vector<core::Face> faces;
  for (int i = 0; i < n; ++i) {
    const float score = s[2 * i + 1];
    if (!(score >= score_threshold)) continue;
    const float x1 = b[4 * i] * input_.width, y1 = b[4 * i + 1] * input_.height;
    const float x2 = b[4 * i + 2] * input_.width, y2 = b[4 * i + 3] * input_.height;
    if (!(x2 > x1 && y2 > y1)) continue;
    // A box cut by an inner tile edge is a partial face; a neighbouring tile or a coarser
    // level sees it whole.
    if ((inner_left && x1 <= edge_tol) || (inner_top && y1 <= edge_tol) ||
        (inner_right && x2 >= content.x - edge_tol) ||
        (inner_bottom && y2 >= content.y - edge_tol)) {
      continue;
    }
    const cv::Point2f p1 = in.transform.to_source({x1, y1});
    const cv::Point2f p2 = in.transform.to_source({x2, y2});
    core::Face f;
    f.box = {std::clamp(p1.x, 0.0f, float(bgr.cols)), std::clamp(p1.y, 0.0f, float(bgr.rows)),
             std::clamp(p2.x, 0.0f, float(bgr.cols)), std::clamp(p2.y, 0.0f, float(bgr.rows))};
    if (f.box.width() < 1 || f.box.height() < 1) continue;
    if (view.max_face > 0 && f.box.width() > view.max_face) continue;
    f.score = score;
    faces.push_back(f);
  }
  return merge_detections(std::move(faces), nms_iou_, 1.0f);
}

std::vector<core::Face> Detector::detect(const cv::Mat& bgr, const DetectOptions& options) const {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "detect: expects a non-empty 8-bit BGR image");
  }
  const float threshold = options.score_threshold >= 0 ? options.score_threshold : score_threshold_;
  std::vector<core::Face> all;
  for (const DetectorView& view : plan(bgr.size(), options.min_face)) {
    auto faces = detect_view(bgr, view, threshold);
    if (view.max_face > 0) {
      // Tiles see small faces without context; confirm each in a view centred on it.
      std::erase_if(faces,
                    [&](const core::Face& f) { return verify(bgr, f.box) < verify_threshold_; });
    }
    all.insert(all.end(), faces.begin(), faces.end());
  }
  return merge_detections(std::move(all), nms_iou_, 0.7f);
}

float Detector::verify(const cv::Mat& bgr, const core::Box& box) const {
  // A view in which the face spans about a third of the input height, centred.
  const float side = std::max(box.width(), box.height()) * 3.0f;
  const cv::Point2f c = box.center();
  const float w = side * input_.width / input_.height;
  const cv::Rect roi =
      cv::Rect(cv::Point(int(c.x - w / 2), int(c.y - side / 2)), cv::Size(int(w), int(side))) &
      cv::Rect({0, 0}, bgr.size());
  if (roi.empty()) return 0;
  const double scale =
      std::max(double(roi.width) / input_.width, double(roi.height) / input_.height);
  float best = 0;
  for (const auto& f : detect_view(bgr, {roi, scale, 0}, 0.3f)) {
    if (core::iou(f.box, box) > 0.4f) best = std::max(best, f.score);
  }
  return best;
}

std::vector<core::Face> merge_detections(std::vector<core::Face> faces, float iou_limit,
                                         float containment) {
  std::stable_sort(faces.begin(), faces.end(),
                   [](const core::Face& a, const core::Face& b) { return a.score > b.score; });
  std::vector<core::Face> kept;
  for (const auto& f : faces) {
    bool keep = true;
    for (const auto& k : kept) {
      const float ix = std::max(0.0f, std::min(f.box.x2, k.box.x2) - std::max(f.box.x1, k.box.x1));
      const float iy = std::max(0.0f, std::min(f.box.y2, k.box.y2) - std::max(f.box.y1, k.box.y1));
      const float inter = ix * iy;
      const float smaller = std::min(f.box.area(), k.box.area());
      if (core::iou(f.box, k.box) > iou_limit || (smaller > 0 && inter / smaller > containment)) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push_back(f);
  }
  return kept;
}

}  // namespace laneface::vision
