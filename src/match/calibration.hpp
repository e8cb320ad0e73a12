#pragma once
// The decision threshold of one model, set from a target false match rate (FMR) on an
// impostor score distribution measured on data, and kept in a small TOML file:
//   [calibration]
//   model_id = "fr_feature"   target_fmr = 1e-4   threshold = 0.31
//   impostor_count = 250000   source = "what data the impostor scores came from"
// A comparison is a match when score > threshold.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace laneface::match {

inline constexpr double kDefaultTargetFmr = 1e-4;

// The threshold at which at most floor(fmr * impostors) impostor scores are accepted
// (score > threshold). Throws core::Error(kInvalidInput) for an empty list or fmr outside
// [0, 1). eval's verification metrics use this same function.
double threshold_at_fmr(std::vector<double> impostor, double fmr);

struct Calibration {
  std::string model_id;
  double target_fmr = kDefaultTargetFmr;
  double threshold = 0;
  std::size_t impostor_count = 0;
  std::string source;

  // Throws core::Error: kNotFound for a missing file, kConfig naming the file and the field.
  static Calibration load(const std::filesystem::path& path);
  void save(const std::filesystem::path& path) const;
};

// Requires at least ceil(1 / target_fmr) impostor scores (fewer cannot resolve the target
// rate): throws core::Error(kInvalidInput) naming both counts otherwise.
Calibration fit_calibration(const std::string& model_id, std::vector<double> impostor,
                            double target_fmr, const std::string& source);

}  // namespace laneface::match
