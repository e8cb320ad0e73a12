#pragma once
// Verification metrics in ISO/IEC 19795-1 terms. Scores are similarities: a comparison is
// accepted when score > threshold.
#include <cstddef>
#include <utility>
#include <vector>

#include "match/calibration.hpp"

namespace laneface::eval {

// The threshold at which at most floor(far * impostors) impostor scores are accepted.
// Requires a non-empty impostor list and 0 <= far < 1 (match::threshold_at_fmr, the one
// implementation, shared with match calibration).
inline double threshold_at_far(std::vector<double> impostor, double far) {
  return match::threshold_at_fmr(std::move(impostor), far);
}

// Fraction of genuine scores accepted at the threshold.
double accept_rate(const std::vector<double>& scores, double threshold);

// The threshold that maximises accuracy (genuine accepted + impostor rejected) on this data.
double best_accuracy_threshold(const std::vector<double>& genuine,
                               const std::vector<double>& impostor);
double accuracy(const std::vector<double>& genuine, const std::vector<double>& impostor,
                double threshold);

struct Pair {
  int fold = 0;
  bool same = false;
  double score = 0;
};

struct KFoldResult {
  std::vector<double> fold_accuracy;
  std::vector<double> fold_threshold;
  double mean = 0;
  double stddev = 0;
};

// Accuracy on `fold` with the threshold chosen on the other folds (returned in *threshold).
double fold_accuracy(const std::vector<Pair>& pairs, int fold, double* threshold = nullptr);

// For each fold: threshold chosen on the other folds, accuracy measured on this one.
KFoldResult kfold_accuracy(const std::vector<Pair>& pairs, int folds);
// Same, from per-fold accuracies and thresholds computed by the caller.
KFoldResult summarize_folds(std::vector<double> accuracy, std::vector<double> thresholds);

}  // namespace laneface::eval
