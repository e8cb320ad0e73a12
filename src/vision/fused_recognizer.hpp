#pragma once
// Score-level fusion of several recognizers: each model's score is z-normalised with
// parameters fitted on a named calibration split (`laneface calibrate`), and the normalised
// scores are summed (a fitted weight did not beat the plain sum, MODELS.md). The fused
// template is the parts' templates concatenated; split() recovers them, so a gallery can keep
// one template per model.
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vision/recognizer.hpp"

namespace laneface::vision {

struct ScoreNorm {
  double mean = 0;
  double stddev = 1;
};

struct FusionParams {
  std::vector<std::string> parts;  // recognizer model ids, in template order
  std::vector<ScoreNorm> norms;    // one per part
  double threshold = 0;            // fused same/different threshold
  std::string calibration;         // what data and split the parameters were fitted on
  // "Fuse only near the threshold": the second model is computed only when the first model's
  // best score is within this band of its threshold ([fusion.gate] band; 0 = always fuse).
  double gate_band = 0;

  // Throws core::Error(kNotFound / kConfig) naming the file and key.
  static FusionParams load(const std::filesystem::path& path);
  void save(const std::filesystem::path& path) const;
};

// Mean and standard deviation of a model's impostor scores (z-normalisation).
ScoreNorm fit_norm(std::span<const double> impostor_scores);
// Sum of the z-normalised part scores.
double fuse_scores(std::span<const double> part_scores, std::span<const ScoreNorm> norms);

class FusedRecognizer final : public Recognizer {
 public:
  // Requires one norm per part and the parts in the order of params.parts.
  FusedRecognizer(std::vector<std::unique_ptr<Recognizer>> parts, FusionParams params);

  const std::string& model_id() const override { return id_; }
  std::size_t template_size() const override { return size_; }
  core::Template embed(const cv::Mat& bgr, const core::Face& face) const override;
  double compare(const core::Template& a, const core::Template& b) const override;
  double threshold() const override { return params_.threshold; }
  // Each part's templates fused by that part (Recognizer::fuse), concatenated.
  core::Template fuse(std::span<const core::Template> shots) const override;

  // Each part's score for two fused templates, in part order.
  std::vector<double> part_scores(const core::Template& a, const core::Template& b) const;
  std::vector<core::Template> split(const core::Template& fused) const;
  const std::vector<std::unique_ptr<Recognizer>>& parts() const { return parts_; }
  const FusionParams& params() const { return params_; }

 private:
  std::vector<std::unique_ptr<Recognizer>> parts_;
  FusionParams params_;
  std::string id_;
  std::size_t size_ = 0;
};

}  // namespace laneface::vision
