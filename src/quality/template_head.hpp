#pragma once
// TemplateQualityHead's model: a linear ("ridge") head on the recognizer's own template that
// predicts how well the image will match (the mean score of its mated comparisons), in the
// spirit of learned quality scores such as MagFace (OFIQ's unified score). Fitted by
// `laneface eval edc --fit cv --head-out FILE` on the calibration half of a data set only.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace laneface::quality {

struct TemplateHead {
  std::string recognizer;       // model id of the recognizer whose templates it reads
  std::vector<double> weights;  // one per template dimension
  double norm_weight = 0;       // on the raw plain-chip embedding's L2 norm (TemplateNorm)
  // Weights on other measures' components (0..100; a measure that failed counts 0), by
  // measure name: only in the unified score's learned input (quality.unified.head), never in
  // the single measure TemplateQualityHead.
  std::vector<std::pair<std::string, double>> component_weights;
  double bias = 0;
  nlohmann::json provenance = nlohmann::json::object();  // how and on what it was fitted

  // bias + weights . tmpl + norm_weight * norm + component_weights . components. Requires
  // tmpl.size() == weights.size() and components.size() == component_weights.size().
  double predict(std::span<const float> tmpl, double norm,
                 std::span<const double> components = {}) const;

  // Throws core::Error(kConfig) naming the file when it is missing or malformed.
  static TemplateHead load(const std::filesystem::path& path);
  nlohmann::json to_json() const;
};

// The template the head reads, as the matcher computes it with mirroring on
// (vision::ArcFaceRecognizer, through vision::add_l2_normalised / normalise_l2): the
// L2-normalised sum of the L2-normalised embeddings of the aligned chip and of its mirror
// image. Empty when either is empty or zero.
std::vector<float> mirrored_template(std::span<const float> plain, std::span<const float> mirror);

class FaceContext;  // quality/measure.hpp

// What `head` reads from a face: the matcher's template (mirrored_template of the context's
// plain and mirrored embeddings) and the plain embedding's L2 norm. nullopt with `why` when
// the head was fitted for another recognizer, an embedding fails or the sizes differ.
struct HeadInput {
  std::vector<float> tmpl;
  double norm = 0;
};
std::optional<HeadInput> head_input(const TemplateHead& head, const FaceContext& ctx,
                                    std::string& why);

}  // namespace laneface::quality
