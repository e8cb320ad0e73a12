#pragma once
// Recognizers turn an aligned face into a template. Several models exist or are planned
// (the 512-D ArcFace-style model now, dlib's ResNet next, a fused recognizer on top), so
// callers hold a Recognizer and never a concrete model.
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <string>

#include "core/types.hpp"
#include "vision/net_pool.hpp"

namespace laneface::vision {

class Recognizer {
 public:
  virtual ~Recognizer() = default;
  virtual const std::string& model_id() const = 0;
  // Number of values in this recognizer's templates.
  virtual std::size_t template_size() const = 0;
  // Requires face.landmarks68 (and landmarks5). Thread-safe.
  virtual core::Template embed(const cv::Mat& bgr, const core::Face& face) const = 0;
  // Similarity: higher is more alike. Throws core::Error(kInvalidInput) when the templates
  // come from another model or have the wrong size.
  virtual double compare(const core::Template& a, const core::Template& b) const = 0;
  // The manifest's same/different threshold for compare().
  virtual double threshold() const = 0;
  // One template from several templates of the same face (a multi-shot probe), comparable
  // by compare(). Requires at least one template, each of this model and size; throws
  // core::Error(kInvalidInput) otherwise. Default: the element-wise mean.
  virtual core::Template fuse(std::span<const core::Template> shots) const;
};

struct EmbedOptions {
  bool mirror = true;  // average with the embedding of the horizontally mirrored chip
};

// The ArcFace-style 512-D model: 5-point similarity alignment to the manifest's template,
// L2-normalised embedding, cosine similarity.
class ArcFaceRecognizer final : public Recognizer {
 public:
  ArcFaceRecognizer(std::shared_ptr<NetPool> pool, EmbedOptions options);
  const std::string& model_id() const override { return pool_->spec().id; }
  std::size_t template_size() const override { return size_; }
  core::Template embed(const cv::Mat& bgr, const core::Face& face) const override;
  double compare(const core::Template& a, const core::Template& b) const override;
  double threshold() const override { return threshold_; }
  // As embed() fuses a chip and its mirror: each template added L2-normalised, the sum
  // normalised (add_l2_normalised / normalise_l2).
  core::Template fuse(std::span<const core::Template> shots) const override;

  // The aligned chip the model sees (for --draw and tests).
  cv::Mat chip(const cv::Mat& bgr, const core::Landmarks5& lm5) const;

 private:
  std::shared_ptr<NetPool> pool_;
  EmbedOptions options_;
  std::size_t size_;
  double threshold_;
};

// How an ArcFace template is made from its embeddings (the chip's and, with mirroring, its
// mirror image's): each is added L2-normalised, `t += v / |v|` (nothing when v is zero;
// t.size() == v.size()), then the sum is L2-normalised (`normalise_l2`, nothing when zero).
void add_l2_normalised(std::span<float> t, std::span<const float> v);
void normalise_l2(std::span<float> t);

// Cosine similarity of two equal-length vectors; the vectors need not be normalised.
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace laneface::vision
