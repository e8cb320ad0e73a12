#pragma once
// Error-versus-Discard Characteristic (ISO/IEC 29794-1): FNMR at a fixed threshold (set for a
// target FMR before discarding) as the lowest-quality fraction of genuine comparisons is
// discarded. A comparison's quality is the lower of its two images' qualities.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "quality/assessor.hpp"
#include "vision/face_engine.hpp"

namespace laneface::eval {

// FNMR (score <= threshold) after discarding, for each fraction f, the floor(f * n) genuine
// comparisons of lowest quality (ties keep their input order). Requires equal sizes.
std::vector<double> edc_curve(std::span<const double> genuine_scores,
                              std::span<const double> pair_quality, double threshold,
                              std::span<const double> fractions);

// Writes the curves as a PNG: every curve thin grey, `highlight` thick red with its name.
void write_edc_plot(const std::filesystem::path& path, std::span<const double> fractions,
                    const std::map<std::string, std::vector<double>>& curves,
                    const std::string& highlight);

struct EdcOptions {
  std::filesystem::path data;  // labels.csv (image,identity) and the images it names
  std::filesystem::path plot;  // PNG to write; empty: none
  int threads = 2;
  double fmr = 1e-3;
  bool quiet = false;
};

// Computes quality and a template for every image, splits the identities in two halves
// (sorted identity ids, alternating), fits the unified score's weights on the first half
// (greedy search minimising the mean FNMR at 5-20 % discard) and reports every curve on the
// second. Returns the JSON report; throws core::Error for unreadable data.
nlohmann::json run_edc(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                       const EdcOptions& options);

}  // namespace laneface::eval
