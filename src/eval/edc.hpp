#pragma once
// Error-versus-Discard Characteristic (ISO/IEC 29794-1): FNMR at a fixed threshold (set for a
// target FMR before discarding) as the lowest-quality fraction of genuine comparisons is
// discarded. A comparison's quality is the lower of its two images' qualities.
#include <filesystem>
#include <map>
#include <mutex>
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

// Writes the curves as a PNG: every curve thin grey, `highlight` thick red and `second`
// (may be empty) blue, each with its name.
void write_edc_plot(const std::filesystem::path& path, std::span<const double> fractions,
                    const std::map<std::string, std::vector<double>>& curves,
                    const std::string& highlight, const std::string& second = {});

struct EdcOptions {
  std::filesystem::path data;  // labels.csv (image,identity) and the images it names
  std::filesystem::path plot;  // PNG to write; empty: none
  // Per-image raw measure values and templates (CBOR), reused when it matches the data,
  // recognizer and measures; written otherwise. Holds biometric templates of the data set:
  // keep it with the data, never in the repository. Empty: no cache.
  std::filesystem::path cache;
  int threads = 2;
  double fmr = 1e-3;
  // How the unified scores (all measures, and the cheap gate) are fitted on the calibration
  // half: "cv" chooses the method by 5-fold cross-validation over the calibration identities
  // (objective: mean FNMR at 5-30 % discard on the held-out fold; preferred: methods below
  // every single measure at 10 % and 20 % by edc_fit::kCvMargin, see edc_fit::choose_method),
  // then fits it on the whole half; "none" fits nothing and reports the configured scores; or
  // one method by name, "<weights>/<mappings>/<mean>": weights logistic (regression of
  // mated-comparison failures at the threshold), score (least squares of the mean mated
  // score), descent (on the EDC objective), logistic+descent, or logistic+tail (descent on
  // the mean FNMR at 5-20 % discard, the low-quality tail, from the logistic weights); mappings
  // configured, span99/span50/span25 (linear from the 1st to the 99th/50th/25th percentile of the
  // calibration values, in the configured direction) or sigmoid (univariate logistic fit); mean
  // arithmetic, geometric or harmonic (the unified score's power mean, quality::power_mean).
  std::string fit = "cv";
  // With a fit and the learned measure TemplateQualityHead configured: write its head, refitted
  // on the calibration half, to this file (JSON, as config/quality_head.json). Empty: none.
  std::filesystem::path head_out;
  // With a fit: also fit the unified score's learned input (quality.unified.head: a ridge
  // head on the template, its norm and the other measures' components; not a single
  // measure), its ridge by least squared error in cross-validation inside the calibration
  // half, out-of-fold values for the weights (stacking); write it to unified_head_out.
  bool unified_head = false;
  std::filesystem::path unified_head_out;
  // With --fit cv: cross-validate only these methods (comma-separated names); empty: all.
  std::string cv_methods;
  // Resamples of the bootstrap over the test half's identities (0: none): the difference of
  // the unified score's FNMR and each close single measure's at 10 % and 20 % discard.
  int bootstrap = 0;
  bool quiet = false;
};

// Computes quality and a template for every image, splits the identities in two halves
// (sorted identity ids, alternating), fits the unified score and the cheap-gate unified score
// on the first half (options.fit) and reports every curve on the second: the fitted scores
// ("UnifiedQualityScore", "UnifiedQualityScore(cheap)"), the configured ones ("...(configured)",
// "...(cheap, configured)") and every single measure; "fit.config" holds the mappings and
// weights that reproduce the fitted scores. Returns the JSON report; throws core::Error for
// unreadable data or an unknown fit method.
nlohmann::json run_edc(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                       const EdcOptions& options);

// Collects quality reports of many images and summarises them: how many faces were assessed,
// per measure how often it could be assessed and why not, its range, and any non-finite
// value (there must be none). Thread-safe.
class QualitySurvey {
 public:
  explicit QualitySurvey(const quality::Assessor& assessor) : assessor_(assessor) {}
  void add_no_face();
  void add(const quality::QualityReport& report);
  nlohmann::json summary() const;

 private:
  struct PerMeasure {
    std::size_t assessed = 0, failed = 0, non_finite = 0, failed_without_reason = 0;
    std::vector<double> raw;
    std::map<std::string, std::size_t> reasons;
  };
  const quality::Assessor& assessor_;
  mutable std::mutex mutex_;
  std::size_t images_ = 0, no_face_ = 0, malformed_ = 0;
  std::vector<double> elapsed_ms_;
  std::map<std::string, PerMeasure> measures_;
  std::map<std::string, std::size_t> profile_passed_;
};

struct SurveyOptions {
  std::filesystem::path data;  // labels.csv (column image) and the images it names
  int threads = 2;
  quality::Scope scope = quality::Scope::kAll;
  std::size_t limit = 0;  // first N rows only; 0: all
  bool quiet = false;
};

// Quality of the face of interest of every image (no templates): the survey's summary with
// "images", "seconds" and "ms_per_face". An image without a face counts as "no face found".
// Throws core::Error for unreadable data.
nlohmann::json run_quality_survey(const vision::FaceEngine& engine,
                                  const quality::Assessor& assessor, const SurveyOptions& options);

}  // namespace laneface::eval
