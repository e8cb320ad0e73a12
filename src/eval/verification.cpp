#include "eval/verification.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace laneface::eval {

double accept_rate(const std::vector<double>& scores, double threshold) {
  if (scores.empty()) return 0;
  const auto n =
      std::count_if(scores.begin(), scores.end(), [&](double s) { return s > threshold; });
  return double(n) / scores.size();
}

double accuracy(const std::vector<double>& genuine, const std::vector<double>& impostor, double t) {
  const double ok =
      accept_rate(genuine, t) * genuine.size() + (1 - accept_rate(impostor, t)) * impostor.size();
  return ok / double(genuine.size() + impostor.size());
}

double best_accuracy_threshold(const std::vector<double>& genuine,
                               const std::vector<double>& impostor) {
  std::vector<std::pair<double, int>> all;  // score, +1 genuine / -1 impostor
  for (double s : genuine) all.emplace_back(s, 1);
  for (double s : impostor) all.emplace_back(s, -1);
  if (all.empty()) return 0;
  std::sort(all.begin(), all.end());
  // Threshold below everything: all genuine accepted, all impostors accepted.
  long correct = static_cast<long>(genuine.size());
  long best = correct;
  double best_t = all.front().first - 1e-6;
  for (std::size_t i = 0; i < all.size(); ++i) {
    correct += all[i].second == 1 ? -1 : 1;  // all[i] moves to "rejected"
    const bool boundary = i + 1 == all.size() || all[i + 1].first > all[i].first;
    if (boundary && correct > best) {
      best = correct;
      best_t = i + 1 < all.size() ? (all[i].first + all[i + 1].first) / 2 : all[i].first + 1e-6;
    }
  }
  return best_t;
}

double fold_accuracy(const std::vector<Pair>& pairs, int fold, double* threshold) {
  std::vector<double> tg, ti, eg, ei;
  for (const auto& p : pairs) {
    auto& g = p.fold == fold ? eg : tg;
    auto& i = p.fold == fold ? ei : ti;
    (p.same ? g : i).push_back(p.score);
  }
  const double t = best_accuracy_threshold(tg, ti);
  if (threshold) *threshold = t;
  return accuracy(eg, ei, t);
}

KFoldResult summarize_folds(std::vector<double> acc, std::vector<double> thresholds) {
  KFoldResult r{std::move(acc), std::move(thresholds), 0, 0};
  const double n = static_cast<double>(r.fold_accuracy.size());
  r.mean = std::accumulate(r.fold_accuracy.begin(), r.fold_accuracy.end(), 0.0) / n;
  double var = 0;
  for (double a : r.fold_accuracy) var += (a - r.mean) * (a - r.mean);
  r.stddev = std::sqrt(var / n);
  return r;
}

KFoldResult kfold_accuracy(const std::vector<Pair>& pairs, int folds) {
  std::vector<double> acc, thr;
  for (int k = 0; k < folds; ++k) {
    double t = 0;
    acc.push_back(fold_accuracy(pairs, k, &t));
    thr.push_back(t);
  }
  return summarize_folds(std::move(acc), std::move(thr));
}

}  // namespace laneface::eval
