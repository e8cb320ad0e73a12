#pragma once
// dlib's ResNet-29 face recognizer (128-D), assembled in OpenCV DNN from the TF.js weights of
// @vladmandic/face-api: input a 150x150 dlib face chip, output a raw 128-D vector compared by
// Euclidean distance (score = -distance).
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "vision/manifest.hpp"
#include "vision/net_pool.hpp"
#include "vision/recognizer.hpp"
#include "vision/tfjs_weights.hpp"

namespace laneface::vision {

class DlibRecognizer final : public Recognizer {
 public:
  // Verifies the weights and their manifest against their SHA-256 and builds the net from them.
  // Throws core::Error naming the file and the tensor on any mismatch.
  DlibRecognizer(const Manifest& manifest, const ModelSpec& spec);

  const std::string& model_id() const override { return pool_->spec().id; }
  std::size_t template_size() const override { return size_; }
  // Requires face.landmarks68. Thread-safe.
  core::Template embed(const cv::Mat& bgr, const core::Face& face) const override;
  double compare(const core::Template& a, const core::Template& b) const override;
  double threshold() const override { return threshold_; }

  // The face chip the model sees (8-bit BGR, model input size).
  cv::Mat chip(const cv::Mat& bgr, const core::Landmarks68& landmarks) const;
  // The template of a ready chip (8-bit BGR, model input size). Thread-safe.
  core::Template embed_chip(const cv::Mat& bgr_chip) const;

 private:
  std::shared_ptr<NetPool> pool_;
  std::size_t size_;
  double threshold_;
};

// Assembles the network from its weights: conv + scale folded, HWIO filters to OIHW, the
// fully connected matrix transposed. Block structure and widths come from the tensor names and
// shapes. Throws core::Error(kModelIntegrity) naming the tensor when the weights do not fit.
cv::dnn::Net build_dlib_resnet(const TfjsWeights& weights, const InputSpec& input,
                               const std::string& output_name);

double euclidean_distance(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace laneface::vision
