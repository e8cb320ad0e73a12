#include "vision/recognizer.hpp"

#include <cmath>
#include <numeric>
#include <opencv2/core.hpp>

#include "core/error.hpp"
#include "vision/preprocess.hpp"

namespace laneface::vision {

ArcFaceRecognizer::ArcFaceRecognizer(std::shared_ptr<NetPool> pool, EmbedOptions options)
    : pool_(std::move(pool)), options_(options) {
  const ModelSpec& spec = pool_->spec();
  size_ = static_cast<std::size_t>(spec.param("embedding_size"));
  threshold_ = spec.param("compare_threshold");
  if (spec.alignment_template.size() != 5) {
    throw core::Error(core::ErrorKind::kConfig,
                      spec.id + ": alignment_template must hold 5 points");
  }
}

cv::Mat ArcFaceRecognizer::chip(const cv::Mat& bgr, const core::Landmarks5& lm5) const {
  const ModelSpec& spec = pool_->spec();
  return align(bgr, lm5, spec.alignment_template, {spec.input.width, spec.input.height}).image;
}

core::Template ArcFaceRecognizer::embed(const cv::Mat& bgr, const core::Face& face) const {
  if (!face.landmarks5) {
    throw core::Error(core::ErrorKind::kInternal, "embed: the face has no landmarks");
  }
  const ModelSpec& spec = pool_->spec();
  const cv::Mat aligned = chip(bgr, *face.landmarks5);
  std::vector<cv::Mat> chips{aligned};
  if (options_.mirror) {
    cv::Mat flipped;
    cv::flip(aligned, flipped, 1);
    chips.push_back(flipped);
  }
  core::Template t{spec.id, std::vector<float>(size_, 0.0f)};
  auto lease = pool_->acquire();
  for (const cv::Mat& c : chips) {
    lease.net().setInput(to_blob(c, spec.input), spec.input.name);
    const cv::Mat out = lease.net().forward(spec.outputs.at(0));
    if (out.total() != size_) {
      throw core::Error(core::ErrorKind::kModelIntegrity,
                        spec.file + ": embedding has " + std::to_string(out.total()) +
                            " values, manifest says " + std::to_string(size_));
    }
    add_l2_normalised(t.values, std::span<const float>(out.ptr<float>(), size_));
  }
  normalise_l2(t.values);
  return t;
}

namespace {

// Throws unless `shots` holds at least one template, each of `rec`'s model and size.
void check_shots(const Recognizer& rec, std::span<const core::Template> shots) {
  if (shots.empty()) {
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "fuse: no templates to fuse for '" + rec.model_id() + "'");
  }
  for (const auto& t : shots) {
    if (t.model_id != rec.model_id() || t.values.size() != rec.template_size()) {
      throw core::Error(core::ErrorKind::kInvalidInput,
                        "fuse: template of model '" + t.model_id + "' with " +
                            std::to_string(t.values.size()) + " values cannot be fused by '" +
                            rec.model_id() + "'");
    }
  }
}

}  // namespace

core::Template Recognizer::fuse(std::span<const core::Template> shots) const {
  check_shots(*this, shots);
  core::Template t{model_id(), std::vector<float>(template_size(), 0.0f)};
  for (const auto& s : shots) {
    for (std::size_t i = 0; i < t.values.size(); ++i) t.values[i] += s.values[i];
  }
  for (float& v : t.values) v /= float(shots.size());
  return t;
}

core::Template ArcFaceRecognizer::fuse(std::span<const core::Template> shots) const {
  check_shots(*this, shots);
  core::Template t{model_id(), std::vector<float>(size_, 0.0f)};
  for (const auto& s : shots) add_l2_normalised(t.values, s.values);
  normalise_l2(t.values);
  return t;
}

void add_l2_normalised(std::span<float> t, std::span<const float> v) {
  double norm = 0;
  for (const float x : v) norm += double(x) * x;
  const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
  for (std::size_t i = 0; i < t.size(); ++i) t[i] += v[i] * inv;
}

void normalise_l2(std::span<float> t) {
  double norm = 0;
  for (const float v : t) norm += double(v) * v;
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : t) v *= inv;
  }
}

double ArcFaceRecognizer::compare(const core::Template& a, const core::Template& b) const {
  for (const auto* t : {&a, &b}) {
    if (t->model_id != model_id()) {
      throw core::Error(
          core::ErrorKind::kInvalidInput,
          "template of model '" + t->model_id + "' cannot be compared by '" + model_id() + "'");
    }
    if (t->values.size() != size_) {
      throw core::Error(core::ErrorKind::kInvalidInput,
                        "template has " + std::to_string(t->values.size()) + " values, model '" +
                            model_id() + "' makes " + std::to_string(size_));
    }
  }
  return cosine_similarity(a.values, b.values);
}

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) {
    throw core::Error(core::ErrorKind::kInvalidInput, "cosine_similarity: vectors differ in size");
  }
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  if (na <= 0 || nb <= 0) return 0.0;
  return dot / std::sqrt(na * nb);
}

}  // namespace laneface::vision
