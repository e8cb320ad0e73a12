#include "vision/fused_recognizer.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include "core/error.hpp"
#include "core/toml_file.hpp"

namespace laneface::vision {

using core::Error;
using core::ErrorKind;

FusionParams FusionParams::load(const std::filesystem::path& path) {
  const toml::table root =
      core::read_toml_file(path, "fusion calibration file (written by laneface calibrate fusion)");
  FusionParams p;
  auto bad = [&](const std::string& what) {
    throw Error(ErrorKind::kConfig, path.string() + ": " + what);
  };
  const auto* parts = root["fusion"]["parts"].as_array();
  if (!parts || parts->size() < 2) bad("fusion.parts must list at least two recognizer ids");
  for (const auto& v : *parts) {
    const auto id = v.value<std::string>();
    if (!id) bad("fusion.parts holds strings");
    p.parts.push_back(*id);
    const auto mean = root["fusion"]["norm"][*id]["mean"].value<double>();
    const auto sd = root["fusion"]["norm"][*id]["stddev"].value<double>();
    if (!mean || !sd || !(*sd > 0)) bad("fusion.norm." + *id + " needs mean and stddev > 0");
    p.norms.push_back({*mean, *sd});
  }
  const auto t = root["fusion"]["threshold"].value<double>();
  if (!t) bad("fusion.threshold missing");
  p.threshold = *t;
  p.calibration = root["fusion"]["calibration"].value_or(std::string{});
  if (const auto band = root["fusion"]["gate"]["band"]) {
    const auto v = band.value<double>();
    if (!v || *v < 0) bad("fusion.gate.band must be a number >= 0");
    p.gate_band = *v;
  }
  return p;
}

void FusionParams::save(const std::filesystem::path& path) const {
  toml::table fusion;
  toml::array ids;
  toml::table norm;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    ids.push_back(parts[i]);
    norm.insert(parts[i], toml::table{{"mean", norms[i].mean}, {"stddev", norms[i].stddev}});
  }
  fusion.insert("parts", ids);
  fusion.insert("threshold", threshold);
  fusion.insert("calibration", calibration);
  fusion.insert("norm", norm);
  if (gate_band > 0) fusion.insert("gate", toml::table{{"band", gate_band}});
  std::ofstream out(path);
  out << "# Written by `laneface calibrate`: score normalisation per recognizer (z-norm over\n"
         "# impostor scores) and the fused threshold. Rerun the command to refit.\n"
      << toml::table{{"fusion", fusion}} << "\n";
  if (!out) throw Error(ErrorKind::kIo, path.string() + ": cannot write fusion calibration");
}

ScoreNorm fit_norm(std::span<const double> s) {
  if (s.size() < 2) throw Error(ErrorKind::kInvalidInput, "fit_norm: needs at least two scores");
  const double mean = std::accumulate(s.begin(), s.end(), 0.0) / s.size();
  double var = 0;
  for (double v : s) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / (s.size() - 1));
  if (!(sd > 0)) throw Error(ErrorKind::kInvalidInput, "fit_norm: scores have no spread");
  return {mean, sd};
}

double fuse_scores(std::span<const double> scores, std::span<const ScoreNorm> norms) {
  double sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    sum += (scores[i] - norms[i].mean) / norms[i].stddev;
  return sum;
}

FusedRecognizer::FusedRecognizer(std::vector<std::unique_ptr<Recognizer>> parts,
                                 FusionParams params)
    : parts_(std::move(parts)), params_(std::move(params)) {
  if (parts_.size() != params_.parts.size() || parts_.size() != params_.norms.size()) {
    throw Error(ErrorKind::kConfig, "fusion: the calibration names " +
                                        std::to_string(params_.parts.size()) + " recognizers, " +
                                        std::to_string(parts_.size()) + " were given");
  }
  id_ = "fused";
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    if (parts_[i]->model_id() != params_.parts[i]) {
      throw Error(ErrorKind::kConfig, "fusion: part " + std::to_string(i) + " is '" +
                                          parts_[i]->model_id() + "', the calibration expects '" +
                                          params_.parts[i] + "'");
    }
    id_ += (i ? "+" : ":") + parts_[i]->model_id();
    size_ += parts_[i]->template_size();
  }
}

core::Template FusedRecognizer::embed(const cv::Mat& bgr, const core::Face& face) const {
  core::Template t{id_, {}};
  t.values.reserve(size_);
  for (const auto& p : parts_) {
    const auto part = p->embed(bgr, face);
    t.values.insert(t.values.end(), part.values.begin(), part.values.end());
  }
  return t;
}

core::Template FusedRecognizer::fuse(std::span<const core::Template> shots) const {
  if (shots.empty()) {
    throw Error(ErrorKind::kInvalidInput, "fuse: no templates to fuse for '" + id_ + "'");
  }
  std::vector<std::vector<core::Template>> by_part(parts_.size());
  for (const auto& s : shots) {
    auto split_parts = split(s);
    for (std::size_t p = 0; p < parts_.size(); ++p) by_part[p].push_back(std::move(split_parts[p]));
  }
  core::Template t{id_, {}};
  t.values.reserve(size_);
  for (std::size_t p = 0; p < parts_.size(); ++p) {
    const auto part = parts_[p]->fuse(by_part[p]);
    t.values.insert(t.values.end(), part.values.begin(), part.values.end());
  }
  return t;
}

std::vector<core::Template> FusedRecognizer::split(const core::Template& fused) const {
  if (fused.model_id != id_ || fused.values.size() != size_) {
    throw Error(ErrorKind::kInvalidInput,
                "template of '" + fused.model_id + "' with " + std::to_string(fused.values.size()) +
                    " values is not a '" + id_ + "' template of " + std::to_string(size_));
  }
  std::vector<core::Template> out;
  std::size_t offset = 0;
  for (const auto& p : parts_) {
    const auto n = p->template_size();
    out.push_back(
        {p->model_id(), {fused.values.begin() + offset, fused.values.begin() + offset + n}});
    offset += n;
  }
  return out;
}

std::vector<double> FusedRecognizer::part_scores(const core::Template& a,
                                                 const core::Template& b) const {
  const auto sa = split(a), sb = split(b);
  std::vector<double> s;
  for (std::size_t i = 0; i < parts_.size(); ++i) s.push_back(parts_[i]->compare(sa[i], sb[i]));
  return s;
}

double FusedRecognizer::compare(const core::Template& a, const core::Template& b) const {
  return fuse_scores(part_scores(a, b), params_.norms);
}

}  // namespace laneface::vision
