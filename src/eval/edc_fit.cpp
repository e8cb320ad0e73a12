#include "eval/edc_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <opencv2/core.hpp>
#include <random>
#include <set>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "eval/edc.hpp"
#include "quality/assessor.hpp"

namespace laneface::eval::edc_fit {

std::vector<double> pair_quality(const Comparisons& c, const std::vector<double>& image_quality) {
  std::vector<double> q;
  q.reserve(c.genuine_pairs.size());
  for (const auto& [a, b] : c.genuine_pairs)
    q.push_back(std::min(image_quality[a], image_quality[b]));
  return q;
}

std::string HeadSettings::name() const {
  return cv::format("lambda %g, %s%s", lambda, use_norm ? "template + norm" : "template only",
                    use_components ? " + components" : "");
}

bool CvResult::below_singles(std::size_t method, const std::vector<std::string>& names,
                             const std::vector<bool>& against) const {
  for (std::size_t m = 0; m < names.size(); ++m) {
    if (!against[m]) continue;
    const auto& s = singles.at(names[m]);
    if (!(at10[method] < s[1] && at20[method] < s[2])) return false;
  }
  return true;
}

double CvResult::margin(std::size_t method, const std::vector<std::string>& names,
                        const std::vector<bool>& against) const {
  double out = std::numeric_limits<double>::infinity();
  for (std::size_t m = 0; m < names.size(); ++m) {
    if (!against[m]) continue;
    const auto& s = singles.at(names[m]);
    for (const auto& [single, unified] : {std::pair{s[1], at10[method]}, {s[2], at20[method]}})
      out = std::min(out, single > 0 ? (single - unified) / single : -1.0);
  }
  return out;
}

int cv_rank(const CvResult& cv, std::size_t method, const std::vector<std::string>& names,
            const std::vector<bool>& against, double margin) {
  if (cv.margin(method, names, against) >= margin) return 2;
  return cv.below_singles(method, names, against) ? 1 : 0;
}

std::size_t choose_method(const CvResult& cv, const std::vector<bool>& eligible,
                          const std::vector<std::string>& names, const std::vector<bool>& against,
                          double margin) {
  std::size_t best = eligible.size();
  int best_rank = -1;
  for (std::size_t k = 0; k < eligible.size(); ++k) {
    if (!eligible[k]) continue;
    const int rank = cv_rank(cv, k, names, against, margin);
    if (rank > best_rank || (rank == best_rank && cv.objective[k] < cv.objective[best])) {
      best = k;
      best_rank = rank;
    }
  }
  return best;
}

// ---- fitting the unified score ----

// Components 0..100 of every image; 0 for a measure that failed or an image without a face.
Matrix components(const std::vector<ImageRecord>& images,
                  const std::vector<quality::Mapping>& mappings) {
  Matrix c(images.size(), std::vector<double>(mappings.size(), 0.0));
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (!images[i].ok) continue;
    for (std::size_t m = 0; m < mappings.size(); ++m) {
      if (std::isfinite(images[i].values[m])) c[i][m] = mappings[m].apply(images[i].values[m]);
    }
  }
  return c;
}

std::vector<double> unified(const Matrix& comp, const std::vector<double>& weights, double power) {
  std::vector<double> u(comp.size(), 0.0);
  for (std::size_t i = 0; i < comp.size(); ++i) u[i] = quality::power_mean(comp[i], weights, power);
  return u;
}

// The unified score's power mean ranks images by sum_m w_m f(c_m) for f increasing: the
// feature of a component that the regressions fit weights on.
double power_feature(double component, double power) {
  if (power == 1) return component / 100;
  const double c = std::clamp(component, 1.0, 100.0) / 100;
  return power == 0 ? std::log(c) : -std::pow(c, power);
}

std::map<std::size_t, ImageOutcome> outcomes(const Comparisons& cmp, double threshold) {
  std::map<std::size_t, ImageOutcome> out;
  for (std::size_t g = 0; g < cmp.genuine.size(); ++g) {
    for (const std::size_t i : {cmp.genuine_pairs[g].first, cmp.genuine_pairs[g].second}) {
      auto& o = out[i];
      o.comparisons += 1;
      o.failures += cmp.genuine[g] <= threshold;
      o.score_sum += cmp.genuine[g];
    }
  }
  return out;
}

// Weights >= 0 scaled so that the largest is 1, rounded to two decimals (as in the config,
// so that the config reproduces the fitted score exactly).
std::vector<double> normalised(std::vector<double> w) {
  double top = 0;
  for (auto& v : w) top = std::max(top, v = std::max(0.0, v));
  if (top > 0)
    for (auto& v : w) v = std::round(100 * v / top) / 100;
  return w;
}

enum class Target { kFailure, kScore };

// Regression of each image's mated-comparison outcome on its components (0..1) with a small
// ridge: kFailure is a logistic regression of "a mated comparison of this image fails at the
// threshold" (one binomial observation per image: its comparisons and failures, Newton's
// method); kScore a least-squares fit of the image's mean mated score, weighted by its number
// of comparisons. The unified score is a weighted mean, so weights must not be negative: a
// measure whose fitted effect points the wrong way is dropped and the rest refitted.
std::vector<double> fit_regression(const Matrix& comp, const Comparisons& cmp, double threshold,
                                   const std::vector<bool>& allowed, Target target, double power) {
  const auto obs = outcomes(cmp, threshold);
  const std::size_t n_measures = allowed.size();
  std::vector<bool> active = allowed;
  std::vector<double> effect(n_measures, 0.0);
  for (std::size_t pass = 0; pass <= n_measures; ++pass) {
    std::vector<std::size_t> cols;
    for (std::size_t m = 0; m < n_measures; ++m) {
      if (active[m]) cols.push_back(m);
    }
    const int k = int(cols.size()) + 1;  // + intercept
    cv::Mat beta = cv::Mat::zeros(k, 1, CV_64F);
    std::vector<double> x(std::size_t(k), 1.0);
    for (int iter = 0; iter < (target == Target::kFailure ? 50 : 1); ++iter) {
      cv::Mat grad = cv::Mat::zeros(k, 1, CV_64F), hess = cv::Mat::zeros(k, k, CV_64F);
      for (const auto& [i, o] : obs) {
        for (std::size_t c = 0; c < cols.size(); ++c)
          x[c + 1] = power_feature(comp[i][cols[c]], power);
        double z = 0;
        for (int c = 0; c < k; ++c) z += beta.at<double>(c) * x[std::size_t(c)];
        double residual, curvature;
        if (target == Target::kFailure) {
          const double p = 1 / (1 + std::exp(-z));
          residual = o.comparisons * p - o.failures;
          curvature = o.comparisons * p * (1 - p);
        } else {
          residual = o.comparisons * z - o.score_sum;
          curvature = o.comparisons;
        }
        for (int a = 0; a < k; ++a) {
          grad.at<double>(a) += residual * x[std::size_t(a)];
          for (int b = 0; b < k; ++b)
            hess.at<double>(a, b) += curvature * x[std::size_t(a)] * x[std::size_t(b)];
        }
      }
      for (int a = 1; a < k; ++a) {  // ridge, not on the intercept
        grad.at<double>(a) += 1.0 * beta.at<double>(a);
        hess.at<double>(a, a) += 1.0;
      }
      cv::Mat step;
      cv::solve(hess, grad, step, cv::DECOMP_SVD);
      beta -= step;
      if (cv::norm(step) < 1e-8) break;
    }
    // Quality effect: fewer failures (negative coefficient) or higher scores (positive).
    const double sign = target == Target::kFailure ? -1 : 1;
    effect.assign(n_measures, 0.0);
    bool dropped = false;
    for (std::size_t c = 0; c < cols.size(); ++c) {
      effect[cols[c]] = sign * beta.at<double>(int(c) + 1);
      if (effect[cols[c]] < 0) {
        active[cols[c]] = false;
        dropped = true;
      }
    }
    if (!dropped) break;
  }
  return normalised(effect);
}

const std::vector<double> kWeightLevels{0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0};

double edc_objective(const Comparisons& cmp, const std::vector<double>& quality, double threshold,
                     const std::vector<double>& fractions) {
  const auto c = edc_curve(cmp.genuine, pair_quality(cmp, quality), threshold, fractions);
  return std::accumulate(c.begin(), c.end(), 0.0) / double(c.size());
}

// Coordinate descent on the EDC objective of the fitting comparisons: from `start` (all 0:
// each step tries every weight level for every measure; else: scales each weight or gives
// an unused measure a small one), apply the single change that lowers the objective most,
// until none does.
std::vector<double> fit_descent(const Matrix& comp, const Comparisons& cmp, double threshold,
                                const std::vector<bool>& allowed, double power,
                                std::vector<double> start, const std::vector<double>& fractions) {
  const std::size_t n_measures = allowed.size();
  const bool refine = !start.empty();
  std::vector<double> weights = refine ? start : std::vector<double>(n_measures, 0.0);
  auto objective = [&](const std::vector<double>& w) {
    return edc_objective(cmp, unified(comp, w, power), threshold, fractions);
  };
  double best = objective(weights);
  for (std::size_t step = 0; step < 4 * n_measures; ++step) {
    std::vector<double> step_best;
    double step_value = best - 1e-9;
    for (std::size_t m = 0; m < n_measures; ++m) {
      if (!allowed[m]) continue;
      std::vector<double> levels = kWeightLevels;
      if (refine) {
        levels = {0.0, weights[m] * 0.5, weights[m] * 0.8, weights[m] * 1.25, weights[m] * 2};
        if (weights[m] == 0) levels = {0.05, 0.1, 0.2};
      }
      for (const double level : levels) {
        if (level == weights[m]) continue;
        auto w = weights;
        w[m] = level;
        const double v = objective(w);
        if (v < step_value) {
          step_value = v;
          step_best = w;
        }
      }
    }
    if (step_best.empty()) break;
    weights = step_best;
    best = step_value;
  }
  return normalised(weights);
}

bool higher_is_better(const quality::Mapping& m) {
  return m.kind == quality::Mapping::Kind::kLinear ? m.to > m.from : m.to > 0;
}

double round_significant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double k = std::pow(10.0, digits - 1 - int(std::floor(std::log10(std::abs(v)))));
  return std::round(v * k) / k;
}

const char* mappings_name(Mappings m) {
  switch (m) {
    case Mappings::kConfigured:
      return "configured";
    case Mappings::kSpan99:
      return "span99";
    case Mappings::kSpan50:
      return "span50";
    case Mappings::kSpan25:
      return "span25";
    case Mappings::kSigmoid:
      return "sigmoid";
  }
  return "";
}

// p(fail) = 1 / (1 + exp(-(a + b t))) for the image outcomes, Newton's method; {a, b}.
std::pair<double, double> univariate_logistic(const std::vector<double>& t,
                                              const std::vector<ImageOutcome>& obs) {
  double a = 0, b = 0;
  for (int iter = 0; iter < 50; ++iter) {
    double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double p = 1 / (1 + std::exp(-(a + b * t[i])));
      const double r = obs[i].comparisons * p - obs[i].failures;
      const double c = obs[i].comparisons * p * (1 - p);
      ga += r;
      gb += r * t[i];
      haa += c;
      hab += c * t[i];
      hbb += c * t[i] * t[i];
    }
    const double det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (std::abs(da) + std::abs(db) < 1e-9) break;
  }
  return {a, b};
}

std::vector<quality::Mapping> fit_mappings(const std::vector<ImageRecord>& images,
                                           const std::vector<std::size_t>& members,
                                           const Comparisons& cmp, double threshold,
                                           const std::vector<quality::Mapping>& configured,
                                           Mappings kind) {
  if (kind == Mappings::kConfigured) return configured;
  std::vector<quality::Mapping> out = configured;
  const auto obs = outcomes(cmp, threshold);
  for (std::size_t m = 0; m < configured.size(); ++m) {
    const bool up = higher_is_better(configured[m]);
    std::vector<double> v;
    for (const std::size_t i : members) {
      const double x = images[i].values[m];
      if (std::isfinite(x)) v.push_back(configured[m].abs ? std::abs(x) : x);
    }
    if (v.size() < 10) continue;
    auto sorted = v;
    std::sort(sorted.begin(), sorted.end());
    auto quantile = [&](double q) { return sorted[std::size_t(q * double(sorted.size() - 1))]; };
    quality::Mapping s;
    s.abs = configured[m].abs;
    if (kind == Mappings::kSigmoid) {
      const double med = quantile(0.5), scale = quantile(0.75) - quantile(0.25);
      if (!(scale > 0)) continue;
      std::vector<double> t;
      std::vector<ImageOutcome> o;
      for (const std::size_t i : members) {
        const double x = images[i].values[m];
        const auto it = obs.find(i);
        if (!std::isfinite(x) || it == obs.end()) continue;
        t.push_back(((configured[m].abs ? std::abs(x) : x) - med) / scale);
        o.push_back(it->second);
      }
      const auto [a, b] = univariate_logistic(t, o);
      if (!std::isfinite(a) || !std::isfinite(b) || b == 0 || (b < 0) != up) continue;
      s.kind = quality::Mapping::Kind::kSigmoid;
      s.from = round_significant(med - a * scale / b, 4);
      s.to = round_significant(-scale / b, 4);
      if (s.to == 0) continue;
    } else {
      const double upper = kind == Mappings::kSpan99   ? 0.99
                           : kind == Mappings::kSpan50 ? 0.5
                                                       : 0.25;
      const double lo = round_significant(quantile(up ? 0.01 : 1 - upper), 3);
      const double hi = round_significant(quantile(up ? upper : 0.99), 3);
      if (!(hi > lo)) continue;
      s.kind = quality::Mapping::Kind::kLinear;
      s.from = up ? lo : hi;
      s.to = up ? hi : lo;
    }
    out[m] = s;
  }
  return out;
}

// Names "<weights>/<mappings>/<mean>", mean "arithmetic" (power 1), "geometric" (0) or
// "harmonic" (-1).
std::vector<FitMethod> fit_methods() {
  std::vector<FitMethod> out;
  for (const auto mappings : {Mappings::kConfigured, Mappings::kSpan99, Mappings::kSpan50,
                              Mappings::kSpan25, Mappings::kSigmoid}) {
    for (const auto& [mean, power] :
         {std::pair{"arithmetic", 1.0}, std::pair{"geometric", 0.0}, std::pair{"harmonic", -1.0}}) {
      const std::string m = std::string("/") + mappings_name(mappings) + "/" + mean;
      out.push_back({"logistic" + m, FitMethod::Weights::kLogistic, mappings, power});
      out.push_back({"score" + m, FitMethod::Weights::kScore, mappings, power});
      out.push_back({"descent" + m, FitMethod::Weights::kDescent, mappings, power});
      out.push_back(
          {"logistic+descent" + m, FitMethod::Weights::kLogisticThenDescent, mappings, power});
      out.push_back(
          {"logistic+tail" + m, FitMethod::Weights::kLogisticThenTailDescent, mappings, power});
    }
  }
  return out;
}

// Fits a unified score on `members` (images) and `cmp` (their mated comparisons).
UnifiedModel fit_unified(const std::vector<ImageRecord>& images,
                         const std::vector<std::size_t>& members, const Comparisons& cmp,
                         double threshold, const std::vector<quality::Mapping>& configured,
                         const std::vector<bool>& allowed, const FitMethod& method) {
  UnifiedModel model;
  model.mappings = fit_mappings(images, members, cmp, threshold, configured, method.mappings);
  model.power = method.power;
  const Matrix comp = components(images, model.mappings);
  const double p = method.power;
  switch (method.weights) {
    case FitMethod::Weights::kLogistic:
      model.weights = fit_regression(comp, cmp, threshold, allowed, Target::kFailure, p);
      break;
    case FitMethod::Weights::kScore:
      model.weights = fit_regression(comp, cmp, threshold, allowed, Target::kScore, p);
      break;
    case FitMethod::Weights::kDescent:
      model.weights = fit_descent(comp, cmp, threshold, allowed, p, {});
      break;
    case FitMethod::Weights::kLogisticThenTailDescent:
      model.weights = fit_descent(
          comp, cmp, threshold, allowed, p,
          fit_regression(comp, cmp, threshold, allowed, Target::kFailure, p), kTailFractions);
      break;
    case FitMethod::Weights::kLogisticThenDescent:
      model.weights =
          fit_descent(comp, cmp, threshold, allowed, p,
                      fit_regression(comp, cmp, threshold, allowed, Target::kFailure, p));
      break;
  }
  return model;
}

Comparisons genuine_subset(const Comparisons& cmp, const std::function<bool(std::size_t)>& keep) {
  Comparisons out;
  for (std::size_t g = 0; g < cmp.genuine.size(); ++g) {
    if (keep(cmp.genuine_pairs[g].first)) {
      out.genuine.push_back(cmp.genuine[g]);
      out.genuine_pairs.push_back(cmp.genuine_pairs[g]);
    }
  }
  return out;
}

// Fold of each image of `members`: the rank of its identity among theirs, mod kFolds.
std::map<std::size_t, int> identity_folds(const std::vector<ImageRecord>& images,
                                          const std::vector<std::size_t>& members) {
  std::set<int> ids;
  for (const std::size_t i : members) ids.insert(images[i].identity);
  std::map<int, int> fold;
  int rank = 0;
  for (const int id : ids) fold[id] = rank++ % kFolds;
  std::map<std::size_t, int> out;
  for (const std::size_t i : members) out[i] = fold.at(images[i].identity);
  return out;
}

std::vector<HeadSettings> head_settings() {
  std::vector<HeadSettings> out;
  for (const bool use_norm : {false, true}) {
    for (const double lambda : {1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0})
      out.push_back({lambda, use_norm});
  }
  return out;
}

bool head_input(const ImageRecord& r, std::size_t norm_col, bool use_norm) {
  return r.ok && !r.tmpl.values.empty() &&
         (!use_norm || (norm_col < r.values.size() && std::isfinite(r.values[norm_col])));
}

// The head's value of component column c of an image (0..100; 0 when not assessed).
double head_component(const ImageRecord& r, const HeadInputs& in, std::size_t c) {
  const double v = r.values[in.component_cols[c]];
  return std::isfinite(v) ? in.mappings[in.component_cols[c]].apply(v) : 0.0;
}

quality::TemplateHead fit_head(const std::vector<ImageRecord>& images,
                               const std::vector<std::size_t>& members, const Comparisons& cmp,
                               const HeadInputs& in, const HeadSettings& s) {
  const std::size_t norm_col = in.norm_col;
  const auto obs = outcomes(cmp, 0.0);
  std::vector<std::size_t> rows;
  for (const std::size_t i : members) {
    if (obs.count(i) && head_input(images[i], norm_col, s.use_norm)) rows.push_back(i);
  }
  if (rows.size() < 10)
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "edc: too few images with mated comparisons to fit TemplateQualityHead");
  const int d = int(images[rows[0]].tmpl.values.size());
  const int n_comp = s.use_components ? int(in.component_cols.size()) : 0;
  const int p = d + (s.use_norm ? 1 : 0) + n_comp;
  const int n = int(rows.size());
  cv::Mat x(n, p, CV_64F), y(n, 1, CV_64F), c(n, 1, CV_64F);
  for (int r = 0; r < n; ++r) {
    const auto& rec = images[rows[std::size_t(r)]];
    const auto& o = obs.at(rows[std::size_t(r)]);
    for (int k = 0; k < d; ++k) x.at<double>(r, k) = rec.tmpl.values[std::size_t(k)];
    if (s.use_norm) x.at<double>(r, d) = rec.values[norm_col];
    for (int k = 0; k < n_comp; ++k)
      x.at<double>(r, p - n_comp + k) = head_component(rec, in, std::size_t(k));
    y.at<double>(r) = o.score_sum / o.comparisons;
    c.at<double>(r) = o.comparisons;
  }
  const double c_sum = cv::sum(c)[0];
  std::vector<double> mean(std::size_t(p), 0.0), sd(std::size_t(p), 0.0);
  double y_mean = 0;
  for (int r = 0; r < n; ++r) y_mean += c.at<double>(r) * y.at<double>(r) / c_sum;
  for (int k = 0; k < p; ++k) {
    double m = 0, v = 0;
    for (int r = 0; r < n; ++r) m += c.at<double>(r) * x.at<double>(r, k) / c_sum;
    for (int r = 0; r < n; ++r) v += c.at<double>(r) * std::pow(x.at<double>(r, k) - m, 2) / c_sum;
    mean[std::size_t(k)] = m;
    sd[std::size_t(k)] = v > 0 ? std::sqrt(v) : 1.0;
  }
  for (int r = 0; r < n; ++r) {
    const double w = std::sqrt(c.at<double>(r));
    for (int k = 0; k < p; ++k)
      x.at<double>(r, k) = w * (x.at<double>(r, k) - mean[std::size_t(k)]) / sd[std::size_t(k)];
    y.at<double>(r) = w * (y.at<double>(r) - y_mean);
  }
  cv::Mat a;
  cv::mulTransposed(x, a, true);
  a += cv::Mat::eye(p, p, CV_64F) * (s.lambda * c_sum / n);
  cv::Mat beta;
  cv::solve(a, x.t() * y, beta, cv::DECOMP_CHOLESKY);
  quality::TemplateHead h;
  h.weights.assign(std::size_t(d), 0.0);
  h.bias = y_mean;
  for (int k = 0; k < p; ++k) {
    const double w = beta.at<double>(k) / sd[std::size_t(k)];
    h.bias -= w * mean[std::size_t(k)];
    if (k < d)
      h.weights[std::size_t(k)] = w;
    else if (k >= p - n_comp)
      h.component_weights.emplace_back(in.component_names[std::size_t(k - (p - n_comp))], w);
    else
      h.norm_weight = w;
  }
  return h;
}

double head_predict(const quality::TemplateHead& h, const ImageRecord& r, const HeadInputs& in) {
  if (!head_input(r, in.norm_col, h.norm_weight != 0)) return kNaN;
  std::vector<double> comp(h.component_weights.size());
  if (comp.size() != in.component_cols.size())
    throw core::Error(core::ErrorKind::kInternal, "edc: head inputs do not match the head");
  for (std::size_t c = 0; c < comp.size(); ++c) comp[c] = head_component(r, in, c);
  return h.predict(r.tmpl.values, h.norm_weight != 0 ? r.values[in.norm_col] : 0.0, comp);
}

// The learned measure's values of every image for fitting on `train`: the head fitted on all
// of `train` for every other image, and out-of-fold values for `train` itself (each image's
// value from a head fitted on the other kFolds - 1 folds of the training identities), so that
// the unified score's weights are fitted on values as good as those it will meet (stacking).
std::vector<double> head_column(const std::vector<ImageRecord>& images,
                                const std::vector<std::size_t>& train, const Comparisons& cmp,
                                const HeadInputs& norm_col, const HeadSettings& s,
                                quality::TemplateHead* full) {
  std::vector<double> col(images.size(), kNaN);
  const auto head = fit_head(images, train, cmp, norm_col, s);
  for (std::size_t i = 0; i < images.size(); ++i) col[i] = head_predict(head, images[i], norm_col);
  if (full) *full = head;
  const auto fold = identity_folds(images, train);
  for (int k = 0; k < kFolds; ++k) {
    std::vector<std::size_t> inner, out;
    for (const std::size_t i : train) (fold.at(i) == k ? out : inner).push_back(i);
    const auto inner_cmp = genuine_subset(cmp, [&](std::size_t i) {
      const auto it = fold.find(i);
      return it != fold.end() && it->second != k;
    });
    const auto h = fit_head(images, inner, inner_cmp, norm_col, s);
    for (const std::size_t i : out) col[i] = head_predict(h, images[i], norm_col);
  }
  return col;
}

// Cross-validation of the head's settings over the calibration identities: per setting, the
// weighted mean squared error of the predicted mean mated score and the EDC objective of the
// head alone, on the held-out folds.
std::vector<std::pair<double, double>> cross_validate_head(
    const std::vector<ImageRecord>& images, const std::vector<std::size_t>& members,
    const Comparisons& cmp, double threshold, const HeadInputs& norm_col,
    const std::vector<HeadSettings>& settings, int threads) {
  const auto fold = identity_folds(images, members);
  std::vector<std::pair<double, double>> score(settings.size() * kFolds);
  core::parallel_for(settings.size() * kFolds, threads, [&](std::size_t job) {
    const auto& s = settings[job / kFolds];
    const int k = int(job % kFolds);
    std::vector<std::size_t> train;
    for (const std::size_t i : members) {
      if (fold.at(i) != k) train.push_back(i);
    }
    auto in_fold = [&](std::size_t i, bool test) { return (fold.at(i) == k) == test; };
    const auto fit_cmp = genuine_subset(cmp, [&](std::size_t i) { return in_fold(i, false); });
    const auto test_cmp = genuine_subset(cmp, [&](std::size_t i) { return in_fold(i, true); });
    const auto h = fit_head(images, train, fit_cmp, norm_col, s);
    std::vector<double> q(images.size(), -1e9);
    double se = 0, w = 0;
    const auto obs = outcomes(test_cmp, threshold);
    for (const auto& [i, o] : obs) {
      const double v = head_predict(h, images[i], norm_col);
      if (!std::isfinite(v)) continue;
      q[i] = v;
      se += o.comparisons * std::pow(v - o.score_sum / o.comparisons, 2);
      w += o.comparisons;
    }
    score[job] = {w > 0 ? se / w : 0.0, edc_objective(test_cmp, q, threshold)};
  });
  std::vector<std::pair<double, double>> mean(settings.size(), {0.0, 0.0});
  for (std::size_t j = 0; j < score.size(); ++j) {
    mean[j / kFolds].first += score[j].first / kFolds;
    mean[j / kFolds].second += score[j].second / kFolds;
  }
  return mean;
}

// k-fold cross-validation over the calibration identities (identity_folds): each method is
// fitted on the other folds and scored on the held-out fold's mated comparisons (all at the
// calibration threshold). `fold_images[k]` holds the images as seen when fold k is held out
// (the learned measure's values fitted without it).
CvResult cross_validate(const std::vector<const std::vector<ImageRecord>*>& fold_images,
                        const std::vector<std::size_t>& members, const Comparisons& cmp,
                        double threshold, const std::vector<quality::Mapping>& configured,
                        const std::vector<std::string>& names, const std::vector<bool>& allowed,
                        const std::vector<FitMethod>& methods, int threads) {
  const auto fold = identity_folds(*fold_images[0], members);
  auto test_cmp_of = [&](int k) {
    return genuine_subset(cmp, [&](std::size_t i) { return fold.at(i) == k; });
  };
  auto at = [&](const Comparisons& c, const std::vector<double>& q) {
    const auto e = edc_curve(c.genuine, pair_quality(c, q), threshold, kFractions);
    return std::array<double, 3>{0.0, e[2], e[4]};
  };
  std::vector<std::array<double, 3>> score(methods.size() * kFolds);
  core::parallel_for(methods.size() * kFolds, threads, [&](std::size_t job) {
    const auto& method = methods[job / kFolds];
    const int k = int(job % kFolds);
    const auto& images = *fold_images[std::size_t(k)];
    std::vector<std::size_t> train;
    for (const std::size_t i : members) {
      if (fold.at(i) != k) train.push_back(i);
    }
    const auto fit_cmp = genuine_subset(cmp, [&](std::size_t i) { return fold.at(i) != k; });
    const auto test_cmp = test_cmp_of(k);
    const auto model = fit_unified(images, train, fit_cmp, threshold, configured, allowed, method);
    const auto u = unified(components(images, model.mappings), model.weights, model.power);
    score[job] = at(test_cmp, u);
    score[job][0] = edc_objective(test_cmp, u, threshold);
  });
  CvResult r;
  r.objective.assign(methods.size(), 0.0);
  r.at10 = r.at20 = r.objective;
  for (std::size_t j = 0; j < score.size(); ++j) {
    r.objective[j / kFolds] += score[j][0] / kFolds;
    r.at10[j / kFolds] += score[j][1] / kFolds;
    r.at20[j / kFolds] += score[j][2] / kFolds;
  }
  for (std::size_t m = 0; m < names.size(); ++m) {
    std::array<double, 3> mean{0, 0, 0};
    for (int k = 0; k < kFolds; ++k) {
      const auto& images = *fold_images[std::size_t(k)];
      const auto test_cmp = test_cmp_of(k);
      std::vector<double> q(images.size(), kFailed);
      for (std::size_t i = 0; i < images.size(); ++i) {
        if (std::isfinite(images[i].values[m])) q[i] = configured[m].apply(images[i].values[m]);
      }
      auto v = at(test_cmp, q);
      v[0] = edc_objective(test_cmp, q, threshold);
      for (int t = 0; t < 3; ++t) mean[std::size_t(t)] += v[std::size_t(t)] / kFolds;
    }
    r.singles[names[m]] = mean;
  }
  return r;
}

std::vector<std::vector<double>> bootstrap_difference(
    const std::vector<ImageRecord>& images, const Comparisons& cmp,
    const std::vector<double>& quality_a, const std::vector<double>& quality_b, double threshold,
    const std::vector<double>& fractions, int resamples, std::uint64_t seed) {
  std::map<int, std::vector<std::size_t>> by_identity;  // genuine comparisons per identity
  for (std::size_t g = 0; g < cmp.genuine.size(); ++g)
    by_identity[images[cmp.genuine_pairs[g].first].identity].push_back(g);
  std::vector<const std::vector<std::size_t>*> groups;
  for (const auto& [id, g] : by_identity) groups.push_back(&g);
  const auto qa = pair_quality(cmp, quality_a), qb = pair_quality(cmp, quality_b);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, groups.empty() ? 0 : groups.size() - 1);
  std::vector<std::vector<double>> out(fractions.size());
  std::vector<double> scores, a, b;
  for (int r = 0; r < resamples && !groups.empty(); ++r) {
    scores.clear();
    a.clear();
    b.clear();
    for (std::size_t k = 0; k < groups.size(); ++k) {
      for (const std::size_t g : *groups[pick(rng)]) {
        scores.push_back(cmp.genuine[g]);
        a.push_back(qa[g]);
        b.push_back(qb[g]);
      }
    }
    const auto ea = edc_curve(scores, a, threshold, fractions);
    const auto eb = edc_curve(scores, b, threshold, fractions);
    for (std::size_t f = 0; f < fractions.size(); ++f) out[f].push_back(ea[f] - eb[f]);
  }
  for (auto& v : out) std::sort(v.begin(), v.end());
  return out;
}

}  // namespace laneface::eval::edc_fit
