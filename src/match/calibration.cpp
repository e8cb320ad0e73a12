#include "match/calibration.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>

#include "core/error.hpp"
#include "core/toml_file.hpp"

namespace laneface::match {

using core::Error;
using core::ErrorKind;

double threshold_at_fmr(std::vector<double> impostor, double fmr) {
  if (impostor.empty())
    throw Error(ErrorKind::kInvalidInput, "threshold_at_fmr: no impostor scores");
  if (!(fmr >= 0 && fmr < 1)) {
    throw Error(ErrorKind::kInvalidInput,
                "threshold_at_fmr: rate " + std::to_string(fmr) + " is not in [0, 1)");
  }
  const auto allowed = static_cast<std::size_t>(std::floor(fmr * impostor.size() + 1e-9));
  // Accept score > t: with t = the (allowed+1)-th highest impostor score, at most `allowed`
  // impostors lie strictly above it.
  const auto nth =
      impostor.begin() + static_cast<std::ptrdiff_t>(std::min(allowed, impostor.size() - 1));
  std::nth_element(impostor.begin(), nth, impostor.end(), std::greater<>());
  return *nth;
}

std::vector<FmrPoint> fmr_curve(std::vector<double> impostor) {
  if (impostor.empty()) throw Error(ErrorKind::kInvalidInput, "fmr_curve: no impostor scores");
  const std::size_t n = impostor.size();
  // Only the top tenth matters: sort it, highest first.
  const std::size_t head = std::min(n, n / 10 + 2);
  std::nth_element(impostor.begin(), impostor.begin() + std::ptrdiff_t(head - 1), impostor.end(),
                   std::greater<>());
  std::sort(impostor.begin(), impostor.begin() + std::ptrdiff_t(head), std::greater<>());
  std::vector<FmrPoint> curve;
  // Same rule as threshold_at_fmr: the (floor(fmr * n) + 1)-th highest score.
  for (double decade = 1e-1; decade * n >= 1 - 1e-9; decade /= 10) {
    for (const double fmr : {decade, decade * 0.3}) {
      if (fmr * n < 1 - 1e-9) break;
      const auto allowed = static_cast<std::size_t>(std::floor(fmr * n + 1e-9));
      curve.push_back({fmr, impostor[std::min(allowed, head - 1)]});
    }
  }
  curve.push_back({0, impostor[0]});
  return curve;
}

double fmr_for_fpir(double fpir, std::size_t gallery_size) {
  if (!(fpir > 0 && fpir < 1)) {
    throw Error(ErrorKind::kInvalidInput,
                "fmr_for_fpir: rate " + std::to_string(fpir) + " is not in (0, 1)");
  }
  const double n = double(std::max<std::size_t>(gallery_size, 1));
  return -std::expm1(std::log1p(-fpir) / n);
}

double Calibration::threshold_at(double fmr) const {
  if (curve.empty()) return threshold;
  if (fmr >= curve.front().fmr) return curve.front().threshold;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    const FmrPoint& a = curve[i - 1];
    const FmrPoint& b = curve[i];
    if (fmr < b.fmr) continue;
    if (b.fmr <= 0) return b.threshold;  // below what the data resolves: the highest score
    const double w = (std::log(a.fmr) - std::log(fmr)) / (std::log(a.fmr) - std::log(b.fmr));
    return a.threshold + w * (b.threshold - a.threshold);
  }
  return curve.back().threshold;
}

double Calibration::few_threshold(std::size_t gallery_size) const {
  if (curve.empty() || few_target_fpir <= 0) return threshold;
  return threshold_at(fmr_for_fpir(few_target_fpir, gallery_size));
}

double Calibration::port_threshold(std::size_t gallery_size) const {
  if (curve.empty()) return threshold;
  return std::max(threshold, threshold_at(fmr_for_fpir(target_fpir, gallery_size)));
}

bool Calibration::port_extrapolated(std::size_t gallery_size) const {
  if (curve.size() < 2) return !curve.empty();
  return fmr_for_fpir(target_fpir, gallery_size) < curve[curve.size() - 2].fmr;
}

std::filesystem::path calibration_file(const std::filesystem::path& path,
                                       const std::string& model_id) {
  if (!std::filesystem::is_directory(path)) return path;
  std::string name = model_id;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  }
  return path / (name + ".toml");
}

Calibration load_calibration_for(const std::filesystem::path& path, const std::string& model_id) {
  const auto file = calibration_file(path, model_id);
  if (!std::filesystem::exists(file)) {
    throw Error(ErrorKind::kConfig, file.string() + ": no match calibration for recognizer '" +
                                        model_id + "' (write one with `laneface --recognizer " +
                                        model_id + " calibrate threshold`)");
  }
  Calibration c = Calibration::load(file);
  if (c.model_id != model_id) {
    throw Error(ErrorKind::kConfig, file.string() + ": the match calibration is for '" +
                                        c.model_id + "' but the recognizer is '" + model_id + "'");
  }
  return c;
}

Calibration fit_calibration(const std::string& model_id, std::vector<double> impostor,
                            double target_fmr, const std::string& source, double target_fpir) {
  if (!(target_fmr > 0 && target_fmr < 1)) {
    throw Error(ErrorKind::kInvalidInput, "calibration of " + model_id + ": target FMR " +
                                              std::to_string(target_fmr) + " is not in (0, 1)");
  }
  const auto needed = static_cast<std::size_t>(std::ceil(1 / target_fmr - 1e-9));
  if (impostor.size() < needed) {
    throw Error(ErrorKind::kInvalidInput,
                "calibration of " + model_id + ": " + std::to_string(impostor.size()) +
                    " impostor scores cannot resolve FMR " + std::to_string(target_fmr) +
                    " (needs at least " + std::to_string(needed) + ")");
  }
  if (!(target_fpir > 0 && target_fpir < 1)) {
    throw Error(ErrorKind::kInvalidInput, "calibration of " + model_id + ": target FPIR " +
                                              std::to_string(target_fpir) + " is not in (0, 1)");
  }
  Calibration c{model_id, target_fmr, 0, impostor.size(), source, target_fpir, {}};
  c.threshold = threshold_at_fmr(impostor, target_fmr);
  c.curve = fmr_curve(std::move(impostor));
  return c;
}

Calibration Calibration::load(const std::filesystem::path& path) {
  const toml::table root = core::read_toml_file(path, "match calibration");
  auto bad = [&](const std::string& what) {
    throw Error(ErrorKind::kConfig, path.string() + ": " + what);
  };
  const auto node = root["calibration"];
  Calibration c;
  const auto model_id = node["model_id"].value<std::string>();
  const auto fmr = node["target_fmr"].value<double>();
  const auto threshold = node["threshold"].value<double>();
  const auto count = node["impostor_count"].value<std::int64_t>();
  if (!model_id || model_id->empty()) bad("calibration.model_id missing");
  if (!fmr || !(*fmr > 0 && *fmr < 1)) bad("calibration.target_fmr must be in (0, 1)");
  if (!threshold || !std::isfinite(*threshold)) bad("calibration.threshold missing");
  if (!count || *count < 1) bad("calibration.impostor_count must be positive");
  c.model_id = *model_id;
  c.target_fmr = *fmr;
  c.threshold = *threshold;
  c.impostor_count = static_cast<std::size_t>(*count);
  c.source = node["source"].value_or(std::string{});
  if (const auto fpir = node["target_fpir"]) {
    const auto v = fpir.value<double>();
    if (!v || !(*v > 0 && *v < 1)) bad("calibration.target_fpir must be in (0, 1)");
    c.target_fpir = *v;
  }
  const auto* fmrs = node["curve_fmr"].as_array();
  const auto* thresholds = node["curve_threshold"].as_array();
  if (fmrs || thresholds) {
    if (!fmrs || !thresholds || fmrs->size() != thresholds->size() || fmrs->empty())
      bad("calibration.curve_fmr and curve_threshold must be arrays of the same length");
    for (std::size_t i = 0; i < fmrs->size(); ++i) {
      const auto f = (*fmrs)[i].value<double>();
      const auto t = (*thresholds)[i].value<double>();
      if (!f || !t || !std::isfinite(*t) || *f < 0 || *f >= 1 ||
          (i > 0 && !(*f < c.curve.back().fmr)))
        bad("calibration.curve_fmr must fall from below 1 to 0, with finite thresholds");
      c.curve.push_back({*f, *t});
    }
  }
  return c;
}

void Calibration::save(const std::filesystem::path& path) const {
  toml::table calibration{
      {"model_id", model_id},   {"target_fmr", target_fmr},
      {"threshold", threshold}, {"impostor_count", static_cast<std::int64_t>(impostor_count)},
      {"source", source},       {"target_fpir", target_fpir}};
  if (!curve.empty()) {
    toml::array fmrs, thresholds;
    for (const auto& p : curve) {
      fmrs.push_back(p.fmr);
      thresholds.push_back(p.threshold);
    }
    calibration.insert("curve_fmr", fmrs);
    calibration.insert("curve_threshold", thresholds);
  }
  std::ofstream out(path);
  out << "# Match thresholds of one model, fitted on measured impostor scores (laneface calibrate\n"
         "# threshold): 1:few at target_fmr; 1:N from the impostor tail (curve) at target_fpir.\n"
      << toml::table{{"calibration", calibration}} << "\n";
  if (!out) throw Error(ErrorKind::kIo, path.string() + ": cannot write match calibration");
}

}  // namespace laneface::match
