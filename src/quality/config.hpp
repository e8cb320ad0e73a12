#pragma once
// The quality configuration (config/quality.toml): which measures run, how each raw value
// maps to a 0-100 component, the unified score's weights, and the validation profiles.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "quality/measure.hpp"

namespace laneface::quality {

// Raw value → component 0..100. kLinear: `from` maps to 0, `to` to 100, clamped (from > to
// for "smaller is better"). kSigmoid: 100 / (1 + exp(-(x - from) / to)) (to < 0 flips it).
// `abs`: apply to |raw| (pose angles).
struct Mapping {
  enum class Kind { kLinear, kSigmoid };
  Kind kind = Kind::kLinear;
  double from = 0, to = 1;
  bool abs = false;
  double apply(double raw) const;
};

struct MeasureConfig {
  std::string name;  // registry name
  Mapping mapping;
  MeasureParams params;
  // A learned measure's fitted model: [quality.measures.NAME] model = "FILE", relative to the
  // config file's folder; empty for the others.
  std::filesystem::path model;
};

enum class Bound { kMin, kMax, kMaxAbs, kMinComponent };

struct Requirement {
  std::string measure;
  Bound bound = Bound::kMin;
  double limit = 0;
};

struct Profile {
  std::string name;
  std::string description;
  std::vector<Requirement> requirements;
};

struct QualityConfig {
  Limits limits;
  std::vector<MeasureConfig> measures;            // report order
  std::map<std::string, double> unified_weights;  // measure name → weight (components)
  // The unified score of the cheap gate (Scope::kCheap); empty: unified_weights.
  std::map<std::string, double> cheap_unified_weights;
  double unified_power = 1;  // [quality.unified] power: the exponent of the weighted power mean
  // [quality.unified] head = "FILE" (relative to the config's folder; empty: none): a learned
  // input of the unified score only (Scope::kAll), a TemplateHead on the template, its norm and
  // the components of other measures (quality/template_head.hpp). Its prediction maps to a
  // component by head_mapping and enters the power mean with head_weight (a failed head: 0).
  std::filesystem::path unified_head;
  Mapping unified_head_mapping;
  double unified_head_weight = 0;
  std::map<std::string, Profile> profiles;

  // Parses the [quality] table. Throws core::Error(kConfig) naming the file and key;
  // kNotFound when the file is missing.
  static QualityConfig load(const std::filesystem::path& path);
};

// $LANEFACE_QUALITY_CONFIG, else the source tree's config/quality.toml.
std::filesystem::path default_quality_config_path();

}  // namespace laneface::quality
