#pragma once
// Fitting the unified quality score for the EDC (eval/edc.hpp, `laneface eval edc --fit`): the
// per-image data the fits read, the unified score's fit methods (weights and mappings), the
// learned measure TemplateQualityHead's ridge head, and the k-fold cross-validation over
// identities that chooses among them. Internal to the EDC and its tests.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"
#include "quality/config.hpp"
#include "quality/template_head.hpp"

namespace laneface::eval::edc_fit {

inline constexpr double kFailed = -1;  // component of a measure that failed to assess
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct ImageRecord {
  int identity = 0;
  bool ok = false;             // a face was found
  std::vector<double> raw;     // per analysed measure, NaN when not assessed
  std::vector<double> values;  // per configured measure, NaN when not assessed
  core::Template tmpl;
};

struct Comparisons {
  std::vector<double> genuine;
  std::vector<std::pair<std::size_t, std::size_t>> genuine_pairs;
  std::vector<double> impostor;
};

// A genuine comparison's quality: the lower of its two images' qualities.
std::vector<double> pair_quality(const Comparisons& c, const std::vector<double>& image_quality);

// The genuine comparisons whose first image `keep` accepts.
Comparisons genuine_subset(const Comparisons& cmp, const std::function<bool(std::size_t)>& keep);

// ---- fitting the unified score ----
// A unified score is a mapping per configured measure and a weight per measure (0: unused);
// an image's score is the weighted mean of its components, a measure that failed counts 0,
// exactly as quality::unified_score computes it.
struct UnifiedModel {
  std::vector<quality::Mapping> mappings;  // per configured measure
  std::vector<double> weights;             // per configured measure, >= 0
  double power = 1;                        // of the weighted power mean (quality::power_mean)
};

using Matrix = std::vector<std::vector<double>>;  // [image][measure]

// Components 0..100 of every image; 0 for a measure that failed or an image without a face.
Matrix components(const std::vector<ImageRecord>& images,
                  const std::vector<quality::Mapping>& mappings);
// Every image's unified score (quality::power_mean of its components).
std::vector<double> unified(const Matrix& comp, const std::vector<double>& weights, double power);

// Per image of the comparisons: (mated comparisons, of them failed at the threshold, sum of
// the mated scores).
struct ImageOutcome {
  double comparisons = 0, failures = 0, score_sum = 0;
};
std::map<std::size_t, ImageOutcome> outcomes(const Comparisons& cmp, double threshold);

// The discard fractions of the report's curves.
inline const std::vector<double> kFractions{0,   0.05, 0.1, 0.15, 0.2, 0.25,
                                            0.3, 0.35, 0.4, 0.45, 0.5};
// The objective of the fits on the EDC itself and of the cross-validation: the mean FNMR at
// 5-30 % discard (the area under the EDC up to 30 %).
inline const std::vector<double> kObjectiveFractions{0.05, 0.1, 0.15, 0.2, 0.25, 0.3};
// The low-quality tail that decides the bar's 10 % and 20 % discard points: the objective of
// the "tail" descent (mean FNMR at 5-20 % discard).
inline const std::vector<double> kTailFractions{0.05, 0.1, 0.15, 0.2};
// Mean FNMR at `fractions` discard of the comparisons, by the images' `quality`.
double edc_objective(const Comparisons& cmp, const std::vector<double>& quality, double threshold,
                     const std::vector<double>& fractions = kObjectiveFractions);

// Coordinate descent on the EDC objective (mean FNMR at `fractions` discard) of the fitting
// comparisons: from `start` (empty: all 0, each step tries every weight level for every
// allowed measure; else: scales each weight or gives an unused measure a small one), apply the
// single change that lowers the objective most, until none does. Weights >= 0, the largest 1,
// rounded to two decimals.
std::vector<double> fit_descent(const Matrix& comp, const Comparisons& cmp, double threshold,
                                const std::vector<bool>& allowed, double power,
                                std::vector<double> start,
                                const std::vector<double>& fractions = kObjectiveFractions);

// How the measures' raw values map to components for a fitted unified score. kConfigured:
// the config's mappings. kSpanNN: linear from the 1st to the NNth percentile of the measure's
// values (|value| for the pose angles) on the fitting images, in the configured direction,
// clamped (NN < 99 spends the 0-100 range on the low tail, where the errors are); no labels
// used. kSigmoid: the univariate logistic regression of "a mated comparison of this image
// fails" on the value, as a sigmoid mapping to 100 x the fitted probability of success. A
// measure whose percentiles coincide, or whose sigmoid points against the configured
// direction, keeps its configured mapping.
enum class Mappings { kConfigured, kSpan99, kSpan50, kSpan25, kSigmoid };
const char* mappings_name(Mappings m);

// A way to fit the unified score: the weights' method and the mappings.
struct FitMethod {
  std::string name;  // "<weights>/<mappings>", e.g. "logistic/span99"
  // kLogisticThenTailDescent ("logistic+tail"): the logistic weights refined by descent on
  // the tail objective (kTailFractions) instead of the 5-30 % one.
  enum class Weights {
    kLogistic,
    kScore,
    kDescent,
    kLogisticThenDescent,
    kLogisticThenTailDescent
  } weights;
  Mappings mappings = Mappings::kConfigured;
  double power = 1;
};

// Names "<weights>/<mappings>/<mean>": weights logistic, score, descent, logistic+descent or
// logistic+tail; mean "arithmetic" (power 1), "geometric" (0) or "harmonic" (-1).
std::vector<FitMethod> fit_methods();

// Fits a unified score on `members` (images) and `cmp` (their mated comparisons).
UnifiedModel fit_unified(const std::vector<ImageRecord>& images,
                         const std::vector<std::size_t>& members, const Comparisons& cmp,
                         double threshold, const std::vector<quality::Mapping>& configured,
                         const std::vector<bool>& allowed, const FitMethod& method);

// ---- cross-validation folds ----
constexpr int kFolds = 5;

// Fold of each image of `members`: the rank of its identity among theirs, mod kFolds.
std::map<std::size_t, int> identity_folds(const std::vector<ImageRecord>& images,
                                          const std::vector<std::size_t>& members);

// ---- the learned measure TemplateQualityHead ----
// Ridge regression of each image's mean mated score (weighted by its number of mated
// comparisons) on its template (the matcher's: fr_feature with mirroring, as the measure
// reads it) and, with use_norm, the raw embedding's norm (TemplateNorm's raw value). Features
// are standardised; the ridge is lambda x the mean number of comparisons per image on each
// standardised coefficient; the stored weights are on the raw features.
// With use_components (the unified score's learned input, quality.unified.head, not the single
// measure TemplateQualityHead): also the components (0..100 by `mappings`, a measure that failed
// counts 0) of the measures in the columns `component_cols`.
struct HeadSettings {
  double lambda = 100;
  bool use_norm = false;
  bool use_components = false;
  std::string name() const;
};

std::vector<HeadSettings> head_settings();

// Where the head's inputs are in ImageRecord::values: TemplateNorm's raw value (norm_col) and,
// for a head with use_components, the measures `component_cols` with their `mappings` (named
// `component_names` in the fitted head).
struct HeadInputs {
  HeadInputs(std::size_t norm = 0) : norm_col(norm) {}  // NOLINT: a plain norm column
  std::size_t norm_col = 0;
  std::vector<std::size_t> component_cols;
  std::vector<std::string> component_names;
  std::vector<quality::Mapping> mappings;  // per column of ImageRecord::values
};

// Whether the image has the head's input (a template, and with use_norm a TemplateNorm value
// in column norm_col).
bool head_input(const ImageRecord& r, std::size_t norm_col, bool use_norm);

// Throws core::Error(kInvalidInput) when fewer than 10 images have mated comparisons.
quality::TemplateHead fit_head(const std::vector<ImageRecord>& images,
                               const std::vector<std::size_t>& members, const Comparisons& cmp,
                               const HeadInputs& in, const HeadSettings& s);

// The head's value for an image; NaN without its input.
double head_predict(const quality::TemplateHead& h, const ImageRecord& r, const HeadInputs& in);

// The learned measure's values of every image for fitting on `train`: the head fitted on all
// of `train` for every other image, and out-of-fold values for `train` itself (each image's
// value from a head fitted on the other kFolds - 1 folds of the training identities), so that
// the unified score's weights are fitted on values as good as those it will meet (stacking).
// `full`, when given, receives the head fitted on all of `train`.
std::vector<double> head_column(const std::vector<ImageRecord>& images,
                                const std::vector<std::size_t>& train, const Comparisons& cmp,
                                const HeadInputs& in, const HeadSettings& s,
                                quality::TemplateHead* full = nullptr);

// Cross-validation of the head's settings over the calibration identities: per setting, the
// weighted mean squared error of the predicted mean mated score and the EDC objective of the
// head alone, on the held-out folds.
std::vector<std::pair<double, double>> cross_validate_head(
    const std::vector<ImageRecord>& images, const std::vector<std::size_t>& members,
    const Comparisons& cmp, double threshold, const HeadInputs& in,
    const std::vector<HeadSettings>& settings, int threads);

// ---- cross-validation of the unified score's fit methods ----
// The cross-validation's figures: per method the mean over folds of the EDC objective and of
// FNMR at 10 % and 20 % discard on the held-out fold; the same for every single measure
// (configured mapping, -1 when not assessed, as the report's curves).
struct CvResult {
  std::vector<double> objective, at10, at20;
  std::map<std::string, std::array<double, 3>> singles;  // objective, at 10 %, at 20 %
  // A method is "below every single measure" when its mean FNMR at 10 % and at 20 % is below
  // that of every single measure that is `against`.
  bool below_singles(std::size_t method, const std::vector<std::string>& names,
                     const std::vector<bool>& against) const;
  // The method's least relative margin below the single measures that are `against`, over
  // 10 % and 20 % discard: min over them of (single - method) / single (negative: above one).
  double margin(std::size_t method, const std::vector<std::string>& names,
                const std::vector<bool>& against) const;
};

// The relative margin (CvResult::margin) by which the chosen unified score's cross-validated
// FNMR at 10 % and 20 % discard must be below every single measure's: 5 %.
inline constexpr double kCvMargin = 0.05;

// The cross-validation's rule: among the `eligible` methods, prefer those whose margin is at
// least `margin`, then those below every single measure at all (margin > 0), then any; among
// the preferred, the least objective. Returns methods.size() when none is eligible.
std::size_t choose_method(const CvResult& cv, const std::vector<bool>& eligible,
                          const std::vector<std::string>& names, const std::vector<bool>& against,
                          double margin = kCvMargin);
// The rule's rank of a method (2: margin reached, 1: below every single measure, 0: neither).
int cv_rank(const CvResult& cv, std::size_t method, const std::vector<std::string>& names,
            const std::vector<bool>& against, double margin = kCvMargin);

// k-fold cross-validation over the calibration identities (identity_folds): each method is
// fitted on the other folds and scored on the held-out fold's mated comparisons (all at the
// calibration threshold). `fold_images[k]` holds the images as seen when fold k is held out
// (the learned measure's values fitted without it).
CvResult cross_validate(const std::vector<const std::vector<ImageRecord>*>& fold_images,
                        const std::vector<std::size_t>& members, const Comparisons& cmp,
                        double threshold, const std::vector<quality::Mapping>& configured,
                        const std::vector<std::string>& names, const std::vector<bool>& allowed,
                        const std::vector<FitMethod>& methods, int threads);

// ---- how noisy a difference between two curves is ----
// Bootstrap over identities: each resample draws as many identities as `cmp`'s genuine
// comparisons have, with replacement (std::mt19937_64 seeded with `seed`); a drawn identity's
// genuine comparisons count as often as it is drawn. The threshold stays fixed. Per fraction,
// the sorted resampled differences FNMR(quality_a) - FNMR(quality_b).
std::vector<std::vector<double>> bootstrap_difference(
    const std::vector<ImageRecord>& images, const Comparisons& cmp,
    const std::vector<double>& quality_a, const std::vector<double>& quality_b, double threshold,
    const std::vector<double>& fractions, int resamples, std::uint64_t seed);

}  // namespace laneface::eval::edc_fit
