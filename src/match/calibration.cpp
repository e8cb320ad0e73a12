#include "match/calibration.hpp"

#include <toml++/toml.h>

#include <algorithm>
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

Calibration fit_calibration(const std::string& model_id, std::vector<double> impostor,
                            double target_fmr, const std::string& source) {
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
  Calibration c{model_id, target_fmr, 0, impostor.size(), source};
  c.threshold = threshold_at_fmr(std::move(impostor), target_fmr);
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
  return c;
}

void Calibration::save(const std::filesystem::path& path) const {
  const toml::table calibration{{"model_id", model_id},
                                {"target_fmr", target_fmr},
                                {"threshold", threshold},
                                {"impostor_count", static_cast<std::int64_t>(impostor_count)},
                                {"source", source}};
  std::ofstream out(path);
  out << "# Match threshold of one model at a target FMR, fitted on measured impostor scores.\n"
      << toml::table{{"calibration", calibration}} << "\n";
  if (!out) throw Error(ErrorKind::kIo, path.string() + ": cannot write match calibration");
}

}  // namespace laneface::match
