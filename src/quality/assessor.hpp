#pragma once
// Runs the configured measures on one face, combines them into the unified score and checks
// a validation profile. "Quality too low" is a result with reasons, never an exception.
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "quality/config.hpp"
#include "quality/measure.hpp"
#include "quality/template_head.hpp"
#include "vision/manifest.hpp"

namespace laneface::quality {

inline constexpr const char* kUnifiedName = "UnifiedQualityScore";
// The manifest model the recognition-based measures run (whatever recognizer matches).
inline constexpr const char* kQualityRecognizer = "fr_feature";

struct MeasureResult {
  std::string name;
  std::optional<double> raw;        // absent: failed to assess
  std::optional<double> component;  // 0..100, absent when raw is
  std::string failure;              // why it could not be assessed
};

struct QualityReport {
  std::vector<MeasureResult> measures;  // configured order, UnifiedQualityScore last
  double elapsed_ms = 0;
  const MeasureResult* find(const std::string& name) const;
  double unified() const;  // the UnifiedQualityScore component (0 when absent)
};

struct ProfileResult {
  std::string profile;
  bool passed = false;
  std::vector<std::string> failures;  // one sentence per failed requirement
};

// kCheap: only the cheap measures (the early gate before any template is computed).
enum class Scope { kAll, kCheap };

class Assessor {
 public:
  // Throws core::Error(kConfig) when the config names an unknown measure, or a profile or
  // the unified score names a measure that is not configured, or the cheap gate's unified
  // score weights a measure that is not cheap.
  explicit Assessor(QualityConfig config, Models models = {},
                    const MeasureRegistry& registry = builtin_registry());

  // The eye and pose models of the manifest (roles "eye" and "pose") and the recognizer
  // kQualityRecognizer, hash-checked.
  static Models load_models(const vision::Manifest& manifest);

  // Requires an 8-bit BGR image and index < faces.size(). Thread-safe.
  QualityReport assess(const cv::Mat& bgr, std::span<const core::Face> faces, std::size_t index,
                       Scope scope = Scope::kAll) const;

  // Throws core::Error(kNotFound) naming the profile when it is not configured.
  ProfileResult validate(const QualityReport& report, const std::string& profile) const;

  const QualityConfig& config() const { return config_; }
  // The cost of the configured measure `index` (config().measures order).
  Cost cost(std::size_t index) const { return measures_.at(index)->cost(); }
  std::string_view label(const std::string& measure) const;

 private:
  QualityConfig config_;
  Models models_;
  std::vector<std::unique_ptr<Measure>> measures_;  // parallel to config_.measures
  std::optional<TemplateHead> unified_head_;        // config_.unified_head, when named

  // The component (0..100) of the unified score's learned input; 0 when it cannot run.
  double unified_head_component(const FaceContext& ctx, const QualityReport& report) const;
};

// The unified score: weighted mean of the weighted measures' components; a measure that
// could not be assessed counts as 0; the mean is the power mean of the config's
// unified_power (power_mean). Scope::kCheap uses the config's cheap_unified_weights when it
// has any.
double unified_score(const std::vector<MeasureResult>& results,
                     const std::map<std::string, double>& weights, double power = 1);

// The weighted power mean of components (0..100) with exponent `power`: 1 the arithmetic
// mean, 0 the geometric mean, negative ones weigh the worst components more (a face is as
// good as its weakest aspect). For power < 1 components are floored at 1, so that one
// component of 0 does not make the mean 0 whatever the rest. 0 when the weights sum to 0.
double power_mean(std::span<const double> components, std::span<const double> weights,
                  double power);

nlohmann::json to_json(const QualityReport& report);
nlohmann::json to_json(const ProfileResult& result);

}  // namespace laneface::quality
