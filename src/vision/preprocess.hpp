#pragma once
// The one preprocessing module (docs/architecture.md): every crop, letterbox, alignment and
// blob creation happens here, and each returns the transform it applied so that model
// outputs map back to source pixels exactly.
#include <opencv2/core.hpp>
#include <span>

#include "core/types.hpp"
#include "vision/manifest.hpp"

namespace laneface::vision {

// An affine map from source pixels to model-input pixels.
struct InputTransform {
  cv::Matx23d to_input = cv::Matx23d(1, 0, 0, 0, 1, 0);

  cv::Point2f to_source(cv::Point2f input_point) const;
  cv::Point2f to_model(cv::Point2f source_point) const;
  double scale() const;  // input pixels per source pixel (geometric mean for anisotropic maps)
};

struct PreparedInput {
  cv::Mat image;  // 8-bit BGR (or gray), exactly the model input size
  InputTransform transform;
};

// Uniformly scales `roi` of `src` to fit `target`, placed at the top-left, the rest padded
// with `pad`. Shrinking uses area interpolation (no aliasing).
PreparedInput letterbox(const cv::Mat& src, const cv::Rect& roi, cv::Size target,
                        const cv::Scalar& pad);

// Resizes `roi` (clamped to the image) to exactly `target`; aspect ratio is not kept.
PreparedInput crop_resize(const cv::Mat& src, const cv::Rect& roi, cv::Size target);

// Least-squares similarity transform (rotation, uniform scale, translation) mapping `from`
// onto `to`. Requires at least two points and equal sizes.
cv::Matx23d similarity_transform(std::span<const cv::Point2f> from,
                                 std::span<const cv::Point2f> to);

// Warps `src` so that `points` land on `template_points` in a `target`-sized image. Large
// reductions first halve a local crop with pyrDown so the chip is not aliased.
PreparedInput align(const cv::Mat& src, std::span<const cv::Point2f> points,
                    std::span<const cv::Point2f> template_points, cv::Size target);

// dlib's face chip (get_face_chip_details + extract_image_chip): the 68-point landmarks at
// `indices` fitted by least squares (similarity) onto `template_points`, then align() (bilinear,
// pyrDown first while the reduction exceeds 2x). Requires equal sizes, indices 0..67.
PreparedInput face_chip(const cv::Mat& src, const core::Landmarks68& landmarks,
                        std::span<const int> indices, std::span<const cv::Point2f> template_points,
                        cv::Size target);

// NCHW float blob for a model: channel order, mean and scale from the manifest.
// Requires `image` to have the spec's size.
cv::Mat to_blob(const cv::Mat& image, const InputSpec& spec);

}  // namespace laneface::vision
