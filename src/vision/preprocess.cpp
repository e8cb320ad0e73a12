#include "vision/preprocess.hpp"

#include <cmath>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"

namespace laneface::vision {

cv::Point2f InputTransform::to_model(cv::Point2f p) const {
  const auto& m = to_input;
  return {static_cast<float>(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
          static_cast<float>(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2))};
}

cv::Point2f InputTransform::to_source(cv::Point2f p) const {
  cv::Matx23d inv;
  cv::invertAffineTransform(to_input, inv);
  return {static_cast<float>(inv(0, 0) * p.x + inv(0, 1) * p.y + inv(0, 2)),
          static_cast<float>(inv(1, 0) * p.x + inv(1, 1) * p.y + inv(1, 2))};
}

double InputTransform::scale() const {
  const auto& m = to_input;
  return std::sqrt(std::abs(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)));
}

namespace {

cv::Rect clamp_rect(const cv::Rect& r, const cv::Size& size) {
  return r & cv::Rect(0, 0, size.width, size.height);
}

}  // namespace

PreparedInput letterbox(const cv::Mat& src, const cv::Rect& roi_in, cv::Size target,
                        const cv::Scalar& pad) {
  const cv::Rect roi = clamp_rect(roi_in, src.size());
  if (roi.empty()) throw core::Error(core::ErrorKind::kInternal, "letterbox: empty region");
  const double s = std::min(double(target.width) / roi.width, double(target.height) / roi.height);
  const int w = std::clamp(int(std::lround(roi.width * s)), 1, target.width);
  const int h = std::clamp(int(std::lround(roi.height * s)), 1, target.height);
  cv::Mat resized;
  cv::resize(src(roi), resized, {w, h}, 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  PreparedInput out;
  cv::copyMakeBorder(resized, out.image, 0, target.height - h, 0, target.width - w,
                     cv::BORDER_CONSTANT, pad);
  const double sx = double(w) / roi.width, sy = double(h) / roi.height;
  out.transform.to_input = cv::Matx23d(sx, 0, -roi.x * sx, 0, sy, -roi.y * sy);
  return out;
}

PreparedInput crop_resize(const cv::Mat& src, const cv::Rect& roi_in, cv::Size target) {
  const cv::Rect roi = clamp_rect(roi_in, src.size());
  if (roi.empty()) throw core::Error(core::ErrorKind::kInternal, "crop_resize: empty region");
  PreparedInput out;
  const double sx = double(target.width) / roi.width, sy = double(target.height) / roi.height;
  cv::resize(src(roi), out.image, target, 0, 0,
             sx < 1 && sy < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  out.transform.to_input = cv::Matx23d(sx, 0, -roi.x * sx, 0, sy, -roi.y * sy);
  return out;
}

cv::Matx23d similarity_transform(std::span<const cv::Point2f> from,
                                 std::span<const cv::Point2f> to) {
  if (from.size() != to.size() || from.size() < 2) {
    throw core::Error(core::ErrorKind::kInternal, "similarity_transform needs >= 2 point pairs");
  }
  const double n = static_cast<double>(from.size());
  cv::Point2d mf(0, 0), mt(0, 0);
  for (std::size_t i = 0; i < from.size(); ++i) {
    mf += cv::Point2d(from[i]);
    mt += cv::Point2d(to[i]);
  }
  mf /= n;
  mt /= n;
  double sxx = 0, a_num = 0, b_num = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const cv::Point2d p = cv::Point2d(from[i]) - mf;
    const cv::Point2d q = cv::Point2d(to[i]) - mt;
    sxx += p.dot(p);
    a_num += p.x * q.x + p.y * q.y;
    b_num += p.x * q.y - p.y * q.x;
  }
  if (sxx <= 1e-12)
    throw core::Error(core::ErrorKind::kInternal, "similarity_transform: degenerate points");
  const double a = a_num / sxx, b = b_num / sxx;
  return {a, -b, mt.x - (a * mf.x - b * mf.y), b, a, mt.y - (b * mf.x + a * mf.y)};
}

PreparedInput align(const cv::Mat& src, std::span<const cv::Point2f> points,
                    std::span<const cv::Point2f> template_points, cv::Size target) {
  cv::Matx23d m = similarity_transform(points, template_points);
  const double scale = std::sqrt(std::abs(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)));
  PreparedInput out;
  out.transform.to_input = m;
  if (scale >= 0.5) {
    cv::warpAffine(src, out.image, m, target, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    return out;
  }
  // Strong reduction: take the source region that maps onto the chip (plus a margin), halve
  // it until the remaining scale is at most 2x, then warp.
  cv::Matx23d inv;
  cv::invertAffineTransform(m, inv);
  std::vector<cv::Point2f> corners;
  for (const cv::Point2f c :
       {cv::Point2f(0, 0), cv::Point2f(target.width, 0), cv::Point2f(0, target.height),
        cv::Point2f(target.width, target.height)}) {
    corners.emplace_back(inv(0, 0) * c.x + inv(0, 1) * c.y + inv(0, 2),
                         inv(1, 0) * c.x + inv(1, 1) * c.y + inv(1, 2));
  }
  cv::Rect region = cv::boundingRect(corners);
  region = region + cv::Size(4, 4) - cv::Point(2, 2);
  region &= cv::Rect(0, 0, src.cols, src.rows);
  if (region.empty()) {
    cv::warpAffine(src, out.image, m, target, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    return out;
  }
  cv::Mat local = src(region);
  // Source pixel p maps to local pixel (p - origin) * factor.
  double factor = 1.0;
  while (scale / factor < 0.5 && local.cols >= 4 && local.rows >= 4) {
    cv::Mat half;
    cv::pyrDown(local, half);
    local = half;
    factor *= 0.5;
  }
  // to_input(p) = m * p = m_local * ((p - origin) * factor)  =>  m_local = m scaled by 1/factor
  const cv::Matx23d m_local(m(0, 0) / factor, m(0, 1) / factor,
                            m(0, 2) + m(0, 0) * region.x + m(0, 1) * region.y, m(1, 0) / factor,
                            m(1, 1) / factor, m(1, 2) + m(1, 0) * region.x + m(1, 1) * region.y);
  cv::warpAffine(local, out.image, m_local, target, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  return out;
}

PreparedInput face_chip(const cv::Mat& src, const core::Landmarks68& landmarks,
                        std::span<const int> indices, std::span<const cv::Point2f> template_points,
                        cv::Size target) {
  std::vector<cv::Point2f> points;
  points.reserve(indices.size());
  for (const int i : indices) {
    if (i < 0 || i >= static_cast<int>(landmarks.size())) {
      throw core::Error(core::ErrorKind::kInternal,
                        "face_chip: landmark index " + std::to_string(i) + " out of range");
    }
    points.push_back(landmarks[static_cast<std::size_t>(i)]);
  }
  return align(src, points, template_points, target);
}

cv::Mat to_blob(const cv::Mat& image, const InputSpec& spec) {
  if (image.cols != spec.width || image.rows != spec.height) {
    throw core::Error(core::ErrorKind::kInternal,
                      "to_blob: image is " + std::to_string(image.cols) + "x" +
                          std::to_string(image.rows) + ", model input '" + spec.name + "' wants " +
                          std::to_string(spec.width) + "x" + std::to_string(spec.height));
  }
  if (spec.channels == ChannelOrder::kGray) {
    cv::Mat gray;
    if (image.channels() == 3) {
      cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    } else {
      gray = image;
    }
    return cv::dnn::blobFromImage(gray, spec.scale, {}, cv::Scalar(spec.mean[0]), false, false);
  }
  const cv::Scalar mean(spec.mean[0], spec.mean[1], spec.mean[2]);
  return cv::dnn::blobFromImage(image, spec.scale, {}, mean, spec.channels == ChannelOrder::kRgb,
                                false);
}

}  // namespace laneface::vision
