#pragma once
// The decision thresholds of one model, set from an impostor score distribution measured on
// data (`laneface calibrate threshold`), and kept in a small TOML file:
//   [calibration]
//   model_id = "fr_feature"   target_fmr = 1e-4   threshold = 0.31
//   impostor_count = 250000   source = "what data the impostor scores came from"
//   target_fpir = 1e-3        curve_fmr = [1e-2, ...]   curve_threshold = [0.12, ...]
// A comparison is a match when score > threshold.
//
// 1:few (a vehicle's handful of documents) uses `threshold`, the FMR-calibrated one, or, when
// few_target_fpir is set, the same FPIR rule as 1:N below at the vehicle's document count. 1:N
// (the port gallery of N templates) is a search whose false positive identification rate grows
// with N: a non-mated probe is a false positive when the best of its N impostor scores passes.
// Assuming the N impostor scores are independent draws from the measured distribution,
//   FPIR(t) = 1 - (1 - FMR(t))^N   (~ N * FMR(t) when small),
// so the port threshold is the curve's threshold at FMR = 1 - (1 - target_fpir)^(1/N), never
// below the 1:few one. The curve is the empirical impostor tail (threshold at each FMR);
// below the smallest FMR the data resolves (1 / impostor_count) it is clamped at the highest
// impostor score seen, which is then an optimistic estimate of the rate.
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

inline constexpr double kDefaultTargetFpir = 1e-3;

// One point of the impostor tail: score > threshold for a fraction fmr of impostors.
struct FmrPoint {
  double fmr = 0;
  double threshold = 0;
};

// The empirical tail: thresholds at FMR 1e-1, 3e-2, 1e-2, 3e-3, ... down to the smallest
// FMR the count resolves (1 / impostor count), then {0, highest score}. Throws for an empty
// list.
std::vector<FmrPoint> fmr_curve(std::vector<double> impostor);

// The per-comparison FMR at which a search of `gallery_size` independent impostor templates
// has the false positive identification rate `fpir`: 1 - (1 - fpir)^(1/N).
double fmr_for_fpir(double fpir, std::size_t gallery_size);

struct Calibration {
  std::string model_id;
  double target_fmr = kDefaultTargetFmr;
  double threshold = 0;
  std::size_t impostor_count = 0;
  std::string source;
  double target_fpir = kDefaultTargetFpir;  // 1:N
  std::vector<FmrPoint> curve;              // empty: 1:N uses `threshold`
  // 1:few at a false positive identification rate per non-mated occupant instead of the fixed
  // `threshold`: set by the lane (vehicle_target_fpir), not stored in the file; 0 = off.
  double few_target_fpir = 0;

  // The threshold at an FMR on the curve (log-linear between points; clamped at its ends).
  // Without a curve: `threshold`.
  double threshold_at(double fmr) const;
  // The 1:few threshold for a vehicle gallery of this many documents: the curve at
  // fmr_for_fpir(few_target_fpir, N) when few_target_fpir is set and there is a curve; else
  // `threshold`.
  double few_threshold(std::size_t gallery_size) const;
  // The 1:N threshold for a gallery of this many templates (see the header comment): the
  // curve at fmr_for_fpir(target_fpir, N), and never below `threshold`.
  double port_threshold(std::size_t gallery_size) const;
  // True when that FMR lies below what the impostor count resolves (clamped estimate).
  bool port_extrapolated(std::size_t gallery_size) const;

  // Throws core::Error: kNotFound for a missing file, kConfig naming the file and the field.
  static Calibration load(const std::filesystem::path& path);
  void save(const std::filesystem::path& path) const;
};

// Requires at least ceil(1 / target_fmr) impostor scores (fewer cannot resolve the target
// rate): throws core::Error(kInvalidInput) naming both counts otherwise.
// Also fits the curve; target_fpir must be in (0, 1).
Calibration fit_calibration(const std::string& model_id, std::vector<double> impostor,
                            double target_fmr, const std::string& source,
                            double target_fpir = kDefaultTargetFpir);

// The calibration file of a model inside a directory: DIR/<model id>.toml, with characters
// other than letters, digits, '_' and '-' replaced by '_' ("fused:a+b" -> "fused_a_b.toml").
// A path that is not a directory is returned as it is.
std::filesystem::path calibration_file(const std::filesystem::path& path,
                                       const std::string& model_id);

// Loads a calibration and checks it is for `model_id`: throws core::Error(kConfig) naming
// the file and both models otherwise.
Calibration load_calibration_for(const std::filesystem::path& path, const std::string& model_id);

}  // namespace laneface::match
