#include "eval/edc.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <set>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "eval/verification.hpp"
#include "quality/template_head.hpp"

namespace laneface::eval {
namespace {

constexpr double kFailed = -1;  // component of a measure that failed to assess

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

Comparisons compare_all(const std::vector<ImageRecord>& images,
                        const std::vector<std::size_t>& members,
                        const vision::Recognizer& recognizer) {
  Comparisons c;
  for (std::size_t i = 0; i < members.size(); ++i) {
    for (std::size_t j = i + 1; j < members.size(); ++j) {
      const auto& a = images[members[i]];
      const auto& b = images[members[j]];
      const double s = recognizer.compare(a.tmpl, b.tmpl);
      if (a.identity == b.identity) {
        c.genuine.push_back(s);
        c.genuine_pairs.emplace_back(members[i], members[j]);
      } else {
        c.impostor.push_back(s);
      }
    }
  }
  return c;
}

std::vector<double> pair_quality(const Comparisons& c, const std::vector<double>& image_quality) {
  std::vector<double> q;
  q.reserve(c.genuine_pairs.size());
  for (const auto& [a, b] : c.genuine_pairs)
    q.push_back(std::min(image_quality[a], image_quality[b]));
  return q;
}

}  // namespace

std::vector<double> edc_curve(std::span<const double> scores, std::span<const double> quality,
                              double threshold, std::span<const double> fractions) {
  if (scores.size() != quality.size())
    throw core::Error(core::ErrorKind::kInternal, "edc_curve: size mismatch");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return quality[a] < quality[b]; });
  // Suffix counts of non-matches in quality order.
  std::vector<std::size_t> misses_from(order.size() + 1, 0);
  for (std::size_t i = order.size(); i-- > 0;)
    misses_from[i] = misses_from[i + 1] + (scores[order[i]] <= threshold);
  std::vector<double> out;
  for (const double f : fractions) {
    const auto drop =
        std::min(order.size(), static_cast<std::size_t>(std::floor(f * order.size() + 1e-9)));
    const auto kept = order.size() - drop;
    out.push_back(kept ? double(misses_from[drop]) / kept : 0.0);
  }
  return out;
}

void write_edc_plot(const std::filesystem::path& path, std::span<const double> fractions,
                    const std::map<std::string, std::vector<double>>& curves,
                    const std::string& highlight, const std::string& second) {
  const int w = 800, h = 560, left = 70, right = 20, top = 30, bottom = 60;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  double ymax = 0;
  for (const auto& [n, c] : curves) ymax = std::max(ymax, *std::max_element(c.begin(), c.end()));
  ymax = std::max(0.01, std::ceil(ymax * 20) / 20);
  const double xmax = fractions.back();
  auto at = [&](double x, double y) {
    return cv::Point(left + int((w - left - right) * x / xmax),
                     h - bottom - int((h - top - bottom) * y / ymax));
  };
  cv::rectangle(img, at(0, 0), at(xmax, ymax), cv::Scalar(0, 0, 0));
  for (int k = 0; k <= 5; ++k) {
    const double x = xmax * k / 5, y = ymax * k / 5;
    cv::putText(img, cv::format("%.0f%%", 100 * x), at(x, 0) + cv::Point(-12, 20),
                cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0});
    cv::putText(img, cv::format("%.1f%%", 100 * y), at(0, y) + cv::Point(-60, 5),
                cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0});
  }
  cv::putText(img, "fraction of genuine comparisons discarded (lowest quality first)",
              {left + 60, h - 15}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0});
  cv::putText(img, "FNMR at the FMR 1e-3 threshold (EDC); grey: single measures", {left, 20},
              cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0});
  auto draw = [&](const std::vector<double>& c, const cv::Scalar& colour, int thick) {
    for (std::size_t i = 1; i < c.size(); ++i)
      cv::line(img, at(fractions[i - 1], c[i - 1]), at(fractions[i], c[i]), colour, thick,
               cv::LINE_AA);
  };
  for (const auto& [n, c] : curves) {
    if (n != highlight && n != second) draw(c, {170, 170, 170}, 1);
  }
  if (const auto it = curves.find(second); it != curves.end()) {
    draw(it->second, {200, 120, 0}, 2);
    cv::putText(img, second, at(fractions.back(), it->second.back()) + cv::Point(-230, -10),
                cv::FONT_HERSHEY_SIMPLEX, 0.5, {200, 120, 0});
  }
  if (const auto it = curves.find(highlight); it != curves.end()) {
    draw(it->second, {0, 0, 220}, 3);
    cv::putText(img, highlight, at(fractions.back(), it->second.back()) + cv::Point(-230, -10),
                cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 220});
  }
  core::write_image(path, img);
}

namespace {

// The per-image analysis (raw measure values and template) of every labels.csv row, from the
// cache when it matches, else computed (and written to the cache when one is named).
struct Analysis {
  std::vector<std::string> measure_names;  // parallel to ImageRecord::raw
  std::vector<ImageRecord> images;
  bool from_cache = false;
  nlohmann::json survey;  // QualitySurvey summary when computed here (null from the cache)
};

constexpr int kCacheVersion = 1;

nlohmann::json cache_key(const EdcOptions& o, const vision::FaceEngine& engine) {
  return {{"version", kCacheVersion},
          {"data", std::filesystem::absolute(o.data).lexically_normal().string()},
          {"recognizer", engine.recognizer().model_id()},
          {"mirror", engine.options().embed.mirror}};
}

std::optional<Analysis> load_cache(const EdcOptions& o, const vision::FaceEngine& engine,
                                   const std::vector<std::string>& wanted, std::size_t rows) {
  if (o.cache.empty() || !std::filesystem::exists(o.cache)) return std::nullopt;
  std::ifstream in(o.cache, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  const auto j = nlohmann::json::from_cbor(bytes, true, false);
  if (j.is_discarded() || !j.contains("key") || j["key"] != cache_key(o, engine) ||
      j["images"].size() != rows) {
    if (!o.quiet) std::fprintf(stderr, "edc: cache %s is stale, recomputing\n", o.cache.c_str());
    return std::nullopt;
  }
  Analysis a;
  a.measure_names = j["measures"].get<std::vector<std::string>>();
  for (const auto& w : wanted) {
    if (std::find(a.measure_names.begin(), a.measure_names.end(), w) == a.measure_names.end()) {
      if (!o.quiet) std::fprintf(stderr, "edc: cache lacks measure %s, recomputing\n", w.c_str());
      return std::nullopt;
    }
  }
  for (const auto& r : j["images"]) {
    ImageRecord rec;
    rec.identity = r["identity"];
    rec.ok = r["ok"];
    for (const auto& v : r["raw"]) rec.raw.push_back(v.is_null() ? kNaN : v.get<double>());
    const auto& bin = r["template"].get_binary();
    rec.tmpl.model_id = engine.recognizer().model_id();
    rec.tmpl.values.resize(bin.size() / sizeof(float));
    std::memcpy(rec.tmpl.values.data(), bin.data(), rec.tmpl.values.size() * sizeof(float));
    a.images.push_back(std::move(rec));
  }
  a.from_cache = true;
  return a;
}

void save_cache(const EdcOptions& o, const vision::FaceEngine& engine, const Analysis& a) {
  nlohmann::json images = nlohmann::json::array();
  for (const auto& r : a.images) {
    nlohmann::json raw = nlohmann::json::array();
    for (const double v : r.raw) raw.push_back(std::isfinite(v) ? nlohmann::json(v) : nullptr);
    std::vector<std::uint8_t> bin(r.tmpl.values.size() * sizeof(float));
    std::memcpy(bin.data(), r.tmpl.values.data(), bin.size());
    images.push_back({{"identity", r.identity},
                      {"ok", r.ok},
                      {"raw", raw},
                      {"template", nlohmann::json::binary(std::move(bin))}});
  }
  const nlohmann::json j{
      {"key", cache_key(o, engine)}, {"measures", a.measure_names}, {"images", images}};
  const auto bytes = nlohmann::json::to_cbor(j);
  std::ofstream out(o.cache, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out)
    throw core::Error(core::ErrorKind::kIo, o.cache.string() + ": cannot write the EDC cache");
}

constexpr const char* kHeadName = "TemplateQualityHead";
constexpr const char* kNormName = "TemplateNorm";

// Whether the learned measure's input is the template the EDC compares (the same recognizer,
// with mirroring): then its values follow from the templates, need not come from the cache,
// and it can be refitted.
bool head_reads_templates(const vision::FaceEngine& engine, const quality::Assessor& assessor) {
  return engine.options().embed.mirror &&
         engine.recognizer().model_id() ==
             engine.manifest().model(quality::kQualityRecognizer).id &&
         std::any_of(assessor.config().measures.begin(), assessor.config().measures.end(),
                     [](const auto& m) { return m.name == kNormName; });
}

Analysis analyse(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                 const EdcOptions& o, const core::CsvTable& table) {
  const auto col_image = table.column("image"), col_id = table.column("identity");
  std::vector<std::string> names, wanted;
  for (const auto& m : assessor.config().measures) {
    names.push_back(m.name);
    // A learned measure's values depend on its model file: from the templates, not the cache.
    if (m.name != kHeadName || !head_reads_templates(engine, assessor)) wanted.push_back(m.name);
  }
  if (auto cached = load_cache(o, engine, wanted, table.rows.size())) return std::move(*cached);
  Analysis a;
  a.measure_names = names;
  a.images.resize(table.rows.size());
  QualitySurvey survey(assessor);
  core::parallel_for(
      a.images.size(), o.threads,
      [&](std::size_t i) {
        const auto& row = table.rows[i];
        auto& rec = a.images[i];
        try {
          rec.identity = std::stoi(row.fields[col_id]);
        } catch (const std::exception&) {
          throw core::Error(
              core::ErrorKind::kInvalidInput,
              table.name + ":" + std::to_string(row.line) + ": identity is not a number");
        }
        const cv::Mat img = core::read_image(o.data / row.fields[col_image]);
        const auto faces = engine.analyze(img, {.min_face = 20});
        const auto k = vision::face_of_interest(faces, img.size());
        rec.raw.assign(names.size(), kNaN);
        if (!k) {
          survey.add_no_face();
          return;
        }
        const auto report = assessor.assess(img, faces, *k);
        survey.add(report);
        for (std::size_t m = 0; m < names.size(); ++m) {
          const auto* r = report.find(names[m]);
          if (r && r->raw) rec.raw[m] = *r->raw;
        }
        rec.tmpl = engine.embed(img, faces[*k]);
        rec.ok = true;
      },
      [&](std::size_t done) {
        if (!o.quiet) std::fprintf(stderr, "edc: %zu / %zu images\n", done, a.images.size());
      });
  a.survey = survey.summary();
  if (!o.cache.empty()) save_cache(o, engine, a);
  return a;
}

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

// Per image of the comparisons: (mated comparisons, of them failed at the threshold, sum of
// the mated scores).
struct ImageOutcome {
  double comparisons = 0, failures = 0, score_sum = 0;
};
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
const std::vector<double> kFractions{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5};
// The objective of the fits on the EDC itself and of the cross-validation: the mean FNMR at
// 5-30 % discard (the area under the EDC up to 30 %).
const std::vector<double> kObjectiveFractions{0.05, 0.1, 0.15, 0.2, 0.25, 0.3};

double edc_objective(const Comparisons& cmp, const std::vector<double>& quality, double threshold) {
  const auto c = edc_curve(cmp.genuine, pair_quality(cmp, quality), threshold, kObjectiveFractions);
  return std::accumulate(c.begin(), c.end(), 0.0) / double(c.size());
}

// Coordinate descent on the EDC objective of the fitting comparisons: from `start` (all 0:
// each step tries every weight level for every measure; else: scales each weight or gives
// an unused measure a small one), apply the single change that lowers the objective most,
// until none does.
std::vector<double> fit_descent(const Matrix& comp, const Comparisons& cmp, double threshold,
                                const std::vector<bool>& allowed, double power,
                                std::vector<double> start) {
  const std::size_t n_measures = allowed.size();
  const bool refine = !start.empty();
  std::vector<double> weights = refine ? start : std::vector<double>(n_measures, 0.0);
  auto objective = [&](const std::vector<double>& w) {
    return edc_objective(cmp, unified(comp, w, power), threshold);
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

// How the measures' raw values map to components for a fitted unified score. kConfigured:
// the config's mappings. kSpanNN: linear from the 1st to the NNth percentile of the measure's
// values (|value| for the pose angles) on the fitting images, in the configured direction,
// clamped (NN < 99 spends the 0-100 range on the low tail, where the errors are); no labels
// used. kSigmoid: the univariate logistic regression of "a mated comparison of this image
// fails" on the value, as a sigmoid mapping to 100 x the fitted probability of success. A
// measure whose percentiles coincide, or whose sigmoid points against the configured
// direction, keeps its configured mapping.
enum class Mappings { kConfigured, kSpan99, kSpan50, kSpan25, kSigmoid };

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

// A way to fit the unified score: the weights' method and the mappings.
struct FitMethod {
  std::string name;  // "<weights>/<mappings>", e.g. "logistic/span99"
  enum class Weights { kLogistic, kScore, kDescent, kLogisticThenDescent } weights;
  Mappings mappings = Mappings::kConfigured;
  double power = 1;
};

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

constexpr int kFolds = 5;

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

// ---- the learned measure TemplateQualityHead ----
// Ridge regression of each image's mean mated score (weighted by its number of mated
// comparisons) on its template (the matcher's: fr_feature with mirroring, as the measure
// reads it) and, with use_norm, the raw embedding's norm (TemplateNorm's raw value). Features
// are standardised; the ridge is lambda x the mean number of comparisons per image on each
// standardised coefficient; the stored weights are on the raw features.
struct HeadSettings {
  double lambda = 100;
  bool use_norm = false;
  std::string name() const {
    return cv::format("lambda %g, %s", lambda, use_norm ? "template + norm" : "template only");
  }
};

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

quality::TemplateHead fit_head(const std::vector<ImageRecord>& images,
                               const std::vector<std::size_t>& members, const Comparisons& cmp,
                               std::size_t norm_col, const HeadSettings& s) {
  const auto obs = outcomes(cmp, 0.0);
  std::vector<std::size_t> rows;
  for (const std::size_t i : members) {
    if (obs.count(i) && head_input(images[i], norm_col, s.use_norm)) rows.push_back(i);
  }
  if (rows.size() < 10)
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "edc: too few images with mated comparisons to fit TemplateQualityHead");
  const int d = int(images[rows[0]].tmpl.values.size());
  const int p = d + (s.use_norm ? 1 : 0);
  const int n = int(rows.size());
  cv::Mat x(n, p, CV_64F), y(n, 1, CV_64F), c(n, 1, CV_64F);
  for (int r = 0; r < n; ++r) {
    const auto& rec = images[rows[std::size_t(r)]];
    const auto& o = obs.at(rows[std::size_t(r)]);
    for (int k = 0; k < d; ++k) x.at<double>(r, k) = rec.tmpl.values[std::size_t(k)];
    if (s.use_norm) x.at<double>(r, d) = rec.values[norm_col];
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
    else
      h.norm_weight = w;
  }
  return h;
}

double head_predict(const quality::TemplateHead& h, const ImageRecord& r, std::size_t norm_col) {
  if (!head_input(r, norm_col, h.norm_weight != 0)) return kNaN;
  return h.predict(r.tmpl.values, h.norm_weight != 0 ? r.values[norm_col] : 0.0);
}

// The learned measure's values of every image for fitting on `train`: the head fitted on all
// of `train` for every other image, and out-of-fold values for `train` itself (each image's
// value from a head fitted on the other kFolds - 1 folds of the training identities), so that
// the unified score's weights are fitted on values as good as those it will meet (stacking).
std::vector<double> head_column(const std::vector<ImageRecord>& images,
                                const std::vector<std::size_t>& train, const Comparisons& cmp,
                                std::size_t norm_col, const HeadSettings& s,
                                quality::TemplateHead* full = nullptr) {
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
    const Comparisons& cmp, double threshold, std::size_t norm_col,
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

// The cross-validation's figures: per method the mean over folds of the EDC objective and of
// FNMR at 10 % and 20 % discard on the held-out fold; the same for every single measure
// (configured mapping, -1 when not assessed, as the report's curves).
struct CvResult {
  std::vector<double> objective, at10, at20;
  std::map<std::string, std::array<double, 3>> singles;  // objective, at 10 %, at 20 %
  // A method is "below every single measure" when its mean FNMR at 10 % and at 20 % is below
  // that of every single measure that is `against`.
  bool below_singles(std::size_t method, const std::vector<std::string>& names,
                     const std::vector<bool>& against) const {
    for (std::size_t m = 0; m < names.size(); ++m) {
      if (!against[m]) continue;
      const auto& s = singles.at(names[m]);
      if (!(at10[method] < s[1] && at20[method] < s[2])) return false;
    }
    return true;
  }
};

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

}  // namespace

void QualitySurvey::add_no_face() {
  const std::lock_guard lock(mutex_);
  ++images_;
  ++no_face_;
}

void QualitySurvey::add(const quality::QualityReport& report) {
  std::vector<std::string> passed;
  for (const auto& [name, p] : assessor_.config().profiles) {
    if (assessor_.validate(report, name).passed) passed.push_back(name);
  }
  const std::lock_guard lock(mutex_);
  ++images_;
  elapsed_ms_.push_back(report.elapsed_ms);
  bool malformed = false;
  for (const auto& m : report.measures) {
    auto& pm = measures_[m.name];
    if (m.raw) {
      const bool finite = std::isfinite(*m.raw) && m.component && std::isfinite(*m.component) &&
                          *m.component >= 0 && *m.component <= 100;
      ++pm.assessed;
      if (finite) {
        pm.raw.push_back(*m.raw);
      } else {
        ++pm.non_finite;
        malformed = true;
      }
    } else {
      ++pm.failed;
      if (m.failure.empty()) {
        ++pm.failed_without_reason;
        malformed = true;
      }
      // Reasons without their numbers ("face too small: inter-eye distance 6.1 px ...").
      std::string reason = m.failure.substr(0, m.failure.find_first_of(":0123456789"));
      while (!reason.empty() && reason.back() == ' ') reason.pop_back();
      ++pm.reasons[reason];
    }
  }
  malformed_ += malformed;
  for (const auto& p : passed) ++profile_passed_[p];
}

nlohmann::json QualitySurvey::summary() const {
  const std::lock_guard lock(mutex_);
  auto quantile = [](std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    const auto k = std::size_t(q * double(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return v[k];
  };
  nlohmann::json measures = nlohmann::json::object();
  std::size_t non_finite = 0, without_reason = 0;
  for (const auto& [name, pm] : measures_) {
    non_finite += pm.non_finite;
    without_reason += pm.failed_without_reason;
    nlohmann::json j{{"assessed", pm.assessed}, {"failed", pm.failed}};
    if (!pm.raw.empty()) {
      j["raw_min"] = *std::min_element(pm.raw.begin(), pm.raw.end());
      j["raw_median"] = quantile(pm.raw, 0.5);
      j["raw_max"] = *std::max_element(pm.raw.begin(), pm.raw.end());
    }
    if (!pm.reasons.empty()) j["failure_reasons"] = pm.reasons;
    if (pm.non_finite) j["non_finite"] = pm.non_finite;
    measures[name] = j;
  }
  std::map<std::string, std::size_t> passed;
  for (const auto& [name, p] : assessor_.config().profiles) passed[name] = 0;
  for (const auto& [name, n] : profile_passed_) passed[name] = n;
  const std::size_t faces = images_ - no_face_;
  double total_ms = 0;
  for (const double v : elapsed_ms_) total_ms += v;
  return {{"images", images_},
          {"faces_assessed", faces},
          {"no_face_found", no_face_},
          {"reports_malformed", malformed_},
          {"non_finite_values", non_finite},
          {"failures_without_reason", without_reason},
          {"quality_ms_per_face_mean", faces ? total_ms / double(faces) : 0.0},
          {"quality_ms_per_face_median", quantile(elapsed_ms_, 0.5)},
          {"profiles_passed", passed},
          {"measures", measures}};
}

nlohmann::json run_quality_survey(const vision::FaceEngine& engine,
                                  const quality::Assessor& assessor, const SurveyOptions& o) {
  const auto table = core::read_csv(o.data / "labels.csv");
  const auto col_image = table.column("image");
  const std::size_t n = o.limit ? std::min(o.limit, table.rows.size()) : table.rows.size();
  QualitySurvey survey(assessor);
  const auto start = std::chrono::steady_clock::now();
  core::parallel_for(
      n, o.threads,
      [&](std::size_t i) {
        const cv::Mat img = core::read_image(o.data / table.rows[i].fields[col_image]);
        const auto faces = engine.analyze(img, {.min_face = 20});
        const auto k = vision::face_of_interest(faces, img.size());
        if (!k) {
          survey.add_no_face();
          return;
        }
        survey.add(assessor.assess(img, faces, *k, o.scope));
      },
      [&](std::size_t done) {
        if (!o.quiet) std::fprintf(stderr, "quality: %zu / %zu images\n", done, n);
      });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto out = survey.summary();
  out["data"] = o.data.string();
  out["scope"] = o.scope == quality::Scope::kCheap ? "cheap" : "all";
  out["threads"] = o.threads;
  out["seconds"] = seconds;
  return out;
}

nlohmann::json run_edc(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                       const EdcOptions& o) {
  const auto methods = fit_methods();
  const auto method_named = [&](const std::string& name) -> const FitMethod* {
    for (const auto& m : methods) {
      if (m.name == name) return &m;
    }
    return nullptr;
  };
  if (o.fit != "cv" && o.fit != "none" && !method_named(o.fit)) {
    std::string known = "cv, none";
    for (const auto& m : methods) known += ", " + m.name;
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "edc: unknown fit method '" + o.fit + "' (known: " + known + ")");
  }
  const auto table = core::read_csv(o.data / "labels.csv");
  const auto& measures = assessor.config().measures;
  Analysis analysis = analyse(engine, assessor, o, table);
  auto& images = analysis.images;
  // Raw values per configured measure (NaN when not assessed).
  for (auto& rec : images) {
    rec.values.assign(measures.size(), kNaN);
    for (std::size_t m = 0; m < measures.size(); ++m) {
      const auto it =
          std::find(analysis.measure_names.begin(), analysis.measure_names.end(), measures[m].name);
      if (rec.ok && it != analysis.measure_names.end())
        rec.values[m] = rec.raw[std::size_t(it - analysis.measure_names.begin())];
    }
  }
  std::vector<quality::Mapping> configured_mappings;
  std::vector<bool> all(measures.size(), true), cheap(measures.size(), false);
  for (std::size_t m = 0; m < measures.size(); ++m) {
    configured_mappings.push_back(measures[m].mapping);
    cheap[m] = assessor.cost(m) == quality::Cost::kCheap;
  }

  // Halves: sorted identity ids, alternating.
  std::set<int> ids;
  for (const auto& r : images) ids.insert(r.identity);
  std::map<int, int> half;
  int n = 0;
  for (const int id : ids) half[id] = n++ % 2;
  std::vector<std::size_t> members[2];
  int failures = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (images[i].ok)
      members[half[images[i].identity]].push_back(i);
    else
      ++failures;
  }
  const Comparisons cmp[2] = {compare_all(images, members[0], engine.recognizer()),
                              compare_all(images, members[1], engine.recognizer())};
  if (cmp[0].impostor.empty() || cmp[1].impostor.empty() || cmp[0].genuine.empty() ||
      cmp[1].genuine.empty()) {
    throw core::Error(core::ErrorKind::kInvalidInput,
                      o.data.string() + ": too few identities or images for an EDC");
  }
  const double thr[2] = {threshold_at_far(cmp[0].impostor, o.fmr),
                         threshold_at_far(cmp[1].impostor, o.fmr)};
  std::vector<std::string> names;
  for (const auto& m : measures) names.push_back(m.name);

  // The learned measure (TemplateQualityHead), when configured and its input is the compared
  // template: values from the configured head where the analysis came from the cache. With a
  // fit, the head is refitted on the calibration half: per kind of input (template only, or
  // with the norm) the ridge by least squared error in cross-validation inside the half; with
  // --fit cv the kind is chosen together with the unified score's method (below), each
  // cross-validation fold seeing a head fitted without that fold.
  nlohmann::json head_json = nullptr;
  std::vector<HeadSettings> head_candidates;
  // Per candidate, per fold: the images as seen when that fold is held out.
  std::vector<std::vector<std::vector<ImageRecord>>> fold_copies;
  std::vector<std::vector<const std::vector<ImageRecord>*>> fold_images;
  const auto col_of = [&](const std::string& name) {
    return std::size_t(std::find(names.begin(), names.end(), name) - names.begin());
  };
  const std::size_t head_col = col_of(kHeadName), norm_col = col_of(kNormName);
  const bool refit_head =
      head_col < names.size() && head_reads_templates(engine, assessor) && o.fit != "none";
  if (head_col < names.size() && head_reads_templates(engine, assessor)) {
    const auto configured_head = quality::TemplateHead::load(measures[head_col].model);
    if (analysis.from_cache) {
      for (auto& rec : images) {
        rec.values[head_col] = configured_head.recognizer == engine.recognizer().model_id()
                                   ? head_predict(configured_head, rec, norm_col)
                                   : kNaN;
      }
    }
  } else if (head_col < names.size()) {
    head_json =
        "not refitted: the EDC's templates are not the head's input (another recognizer, "
        "or no mirroring); the configured head's values are reported";
  }
  if (refit_head) {
    const auto settings = head_settings();
    if (!o.quiet)
      std::fprintf(stderr, "edc: cross-validating %zu head settings\n", settings.size());
    const auto cv =
        cross_validate_head(images, members[0], cmp[0], thr[0], norm_col, settings, o.threads);
    nlohmann::json table = nlohmann::json::object();
    for (const bool use_norm : {true, false}) {
      std::size_t best = settings.size();
      for (std::size_t k = 0; k < settings.size(); ++k) {
        table[settings[k].name()] = {{"mse", cv[k].first}, {"edc_objective", cv[k].second}};
        if (settings[k].use_norm == use_norm &&
            (best == settings.size() || cv[k].first < cv[best].first))
          best = k;
      }
      head_candidates.push_back(settings[best]);
    }
    head_json = {{"cross_validation", table},
                 {"candidates", {head_candidates[0].name(), head_candidates[1].name()}},
                 {"calibration_values", "out of fold (stacking)"}};
    if (o.fit == "cv") {
      const auto fold = identity_folds(images, members[0]);
      fold_copies.assign(head_candidates.size(), std::vector<std::vector<ImageRecord>>(kFolds));
      for (std::size_t c = 0; c < head_candidates.size(); ++c) {
        fold_images.emplace_back(kFolds, nullptr);
        for (int k = 0; k < kFolds; ++k) {
          std::vector<std::size_t> train;
          for (const std::size_t i : members[0]) {
            if (fold.at(i) != k) train.push_back(i);
          }
          const auto fit_cmp =
              genuine_subset(cmp[0], [&](std::size_t i) { return fold.at(i) != k; });
          const auto col = head_column(images, train, fit_cmp, norm_col, head_candidates[c]);
          auto& copy = fold_copies[c][std::size_t(k)];
          copy = images;
          for (std::size_t i = 0; i < copy.size(); ++i) {
            copy[i].tmpl.values.clear();
            copy[i].values[head_col] = col[i];
          }
          fold_images[c][std::size_t(k)] = &copy;
        }
      }
    }
  }
  if (fold_images.empty()) fold_images.emplace_back(kFolds, &images);
  // Refits the head with `s` on the whole calibration half: the held-out half gets its values,
  // the calibration half out-of-fold ones; writes it to o.head_out when named.
  const auto final_head = [&](const HeadSettings& s) {
    quality::TemplateHead head;
    const auto col = head_column(images, members[0], cmp[0], norm_col, s, &head);
    for (std::size_t i = 0; i < images.size(); ++i) images[i].values[head_col] = col[i];
    head.recognizer = engine.recognizer().model_id();
    std::size_t fitted_on = 0;
    for (const std::size_t i : members[0]) fitted_on += head_input(images[i], norm_col, s.use_norm);
    head.provenance = {
        {"fitted_by", "laneface eval edc --fit " + o.fit + " --head-out FILE"},
        {"data", o.data.filename().string()},
        {"half", "calibration: identities of even rank (sorted ids); the odd ones never seen"},
        {"images", fitted_on},
        {"mated_comparisons", cmp[0].genuine.size()},
        {"target", "mean cosine score of the image's mated comparisons, weighted by their number"},
        {"method",
         "ridge regression on standardised features, ridge lambda x the mean number of "
         "comparisons per image"},
        {"settings", s.name()},
        {"chosen_by",
         "ridge: least mean squared error in 5-fold cross-validation over the calibration "
         "identities; input kind: with the unified score's method (eval edc --fit cv)"}};
    head_json["settings"] = s.name();
    if (!o.head_out.empty()) {
      std::ofstream out(o.head_out, std::ios::trunc);
      out << head.to_json().dump(1) << "\n";
      if (!out)
        throw core::Error(core::ErrorKind::kIo,
                          o.head_out.string() + ": cannot write the TemplateQualityHead model");
      head_json["written_to"] = o.head_out.string();
    }
  };

  // The configured unified scores (as the Assessor computes them): all measures, and the
  // cheap gate (its own weights, else the unified weights of the cheap measures).
  auto configured_weights = [&](const std::map<std::string, double>& w,
                                const std::vector<bool>& allowed) {
    std::vector<double> out(measures.size(), 0.0);
    for (std::size_t m = 0; m < measures.size(); ++m) {
      const auto it = w.find(measures[m].name);
      if (allowed[m] && it != w.end()) out[m] = std::abs(it->second);
    }
    return out;
  };
  const auto& cfg = assessor.config();
  const UnifiedModel configured{configured_mappings, configured_weights(cfg.unified_weights, all),
                                cfg.unified_power};
  const UnifiedModel configured_cheap{
      configured_mappings,
      configured_weights(
          cfg.cheap_unified_weights.empty() ? cfg.unified_weights : cfg.cheap_unified_weights,
          cheap),
      cfg.unified_power};

  // Fit on half 0 only: the method by cross-validation inside it (o.fit == "cv") or as named;
  // the cheap score with the same kind of mappings as the full one.
  nlohmann::json fit_json{{"method", o.fit}};
  UnifiedModel fitted = configured, fitted_cheap = configured_cheap;
  if (o.fit != "none") {
    const FitMethod* chosen = method_named(o.fit);
    const FitMethod* chosen_cheap = chosen;
    if (o.fit == "cv") {
      if (!o.quiet) std::fprintf(stderr, "edc: cross-validating %zu fit methods\n", methods.size());
      // The rule: the least objective among the methods whose cross-validated FNMR at 10 % and
      // 20 % discard is below that of every single measure (the bar); the least
      // objective of all when none is.
      // Only mappings that keep the whole range are eligible: span50 and span25 give every
      // face above the calibration median (quartile) 100, so the score could not rank the
      // better shots, which the lane's best-shot choice and portrait choice need.
      auto eligible = [](const FitMethod& m) {
        return m.mappings != Mappings::kSpan50 && m.mappings != Mappings::kSpan25;
      };
      auto choose = [&](const CvResult& cv, const std::vector<FitMethod>& ms,
                        const std::vector<bool>& against, nlohmann::json& table) {
        std::size_t best = ms.size();
        bool best_below = false;
        table = nlohmann::json::object();
        for (std::size_t k = 0; k < ms.size(); ++k) {
          const bool below = cv.below_singles(k, names, against);
          table[ms[k].name] = {{"objective", cv.objective[k]},
                               {"fnmr_at_10", cv.at10[k]},
                               {"fnmr_at_20", cv.at20[k]},
                               {"below_every_single_measure", below},
                               {"eligible", eligible(ms[k])}};
          if (!eligible(ms[k])) continue;
          if (best == ms.size() || (below && !best_below) ||
              (below == best_below && cv.objective[k] < cv.objective[best])) {
            best = k;
            best_below = below;
          }
        }
        return method_named(ms[best == ms.size() ? 0 : best].name);
      };
      nlohmann::json table_all = nlohmann::json::object(), table_cheap,
                     singles = nlohmann::json::object();
      std::size_t chosen_head = 0;
      bool chosen_below = false;
      double chosen_objective = 0;
      for (std::size_t c = 0; c < fold_images.size(); ++c) {
        const auto cv = cross_validate(fold_images[c], members[0], cmp[0], thr[0],
                                       configured_mappings, names, all, methods, o.threads);
        nlohmann::json table;
        const FitMethod* m = choose(cv, methods, all, table);
        const auto k = std::size_t(m - methods.data());
        const bool below = cv.below_singles(k, names, all);
        if (c == 0 || (below && !chosen_below) ||
            (below == chosen_below && cv.objective[k] < chosen_objective)) {
          chosen = m;
          chosen_head = c;
          chosen_below = below;
          chosen_objective = cv.objective[k];
        }
        const std::string key = head_candidates.empty() ? "" : head_candidates[c].name();
        nlohmann::json single_table = nlohmann::json::object();
        for (const auto& [name, v] : cv.singles)
          single_table[name] = {{"objective", v[0]}, {"fnmr_at_10", v[1]}, {"fnmr_at_20", v[2]}};
        if (key.empty()) {
          table_all = table;
          singles = single_table;
        } else {
          table_all[key] = table;
          singles[key] = single_table;
        }
      }
      if (!head_candidates.empty()) {
        head_json["chosen_with_the_unified_method"] = head_candidates[chosen_head].name();
        final_head(head_candidates[chosen_head]);
      }
      std::vector<FitMethod> same_mappings;
      for (const auto& m : methods) {
        if (m.mappings == chosen->mappings && m.power == chosen->power) same_mappings.push_back(m);
      }
      const auto cv_cheap =
          cross_validate(fold_images[0], members[0], cmp[0], thr[0], configured_mappings, names,
                         cheap, same_mappings, o.threads);
      chosen_cheap = choose(cv_cheap, same_mappings, cheap, table_cheap);
      fit_json["cross_validation"] = {
          {"folds", kFolds},
          {"over", "identities of the calibration half"},
          {"objective", "mean FNMR at 5-30 % discard on the held-out fold"},
          {"rule",
           "among eligible methods (mappings configured, span99 or sigmoid: the others saturate "
           "above the calibration median or quartile) and head inputs, the least objective of "
           "those whose mean FNMR at 10 % and 20 % discard is below every single measure's "
           "(against the cheap measures for the cheap gate); else the least objective"},
          {"single_measures", singles},
          {"unified", table_all},
          {"cheap", table_cheap}};
    }
    if (refit_head && o.fit != "cv") {  // a named method: the head's input kind by least error
      const auto& t = head_json["cross_validation"];
      final_head(t[head_candidates[0].name()]["mse"] <= t[head_candidates[1].name()]["mse"]
                     ? head_candidates[0]
                     : head_candidates[1]);
    }
    fit_json["head"] = head_json;
    fit_json["unified_method"] = chosen->name;
    fit_json["cheap_method"] = chosen_cheap->name;
    fitted = fit_unified(images, members[0], cmp[0], thr[0], configured_mappings, all, *chosen);
    fitted_cheap =
        fit_unified(images, members[0], cmp[0], thr[0], configured_mappings, cheap, *chosen_cheap);
    // The config that reproduces both fitted scores: mappings of the weighted measures.
    nlohmann::json cfg_json = nlohmann::json::object();
    for (std::size_t m = 0; m < measures.size(); ++m) {
      if (fitted.weights[m] == 0 && fitted_cheap.weights[m] == 0) continue;
      const auto& mp = fitted.mappings[m];
      nlohmann::json j{
          {"mapping",
           {{"kind", mp.kind == quality::Mapping::Kind::kLinear ? "linear" : "sigmoid"},
            {"from", mp.from},
            {"to", mp.to},
            {"abs", mp.abs}}}};
      if (fitted.weights[m] > 0) j["unified_weight"] = fitted.weights[m];
      if (fitted_cheap.weights[m] > 0) j["cheap_unified_weight"] = fitted_cheap.weights[m];
      cfg_json[measures[m].name] = j;
    }
    fit_json["config"] = {{"unified_power", fitted.power}, {"measures", cfg_json}};
  }

  // Every curve on half `h` (1: the report; 0: the calibration half, where the fitted scores
  // are in-sample). Single measures by their configured components (-1: failed).
  const std::string kUnified = quality::kUnifiedName;
  const std::string kCheap = kUnified + "(cheap)";
  auto all_curves = [&](int h) {
    auto curve_of = [&](const std::vector<double>& image_quality) {
      return edc_curve(cmp[h].genuine, pair_quality(cmp[h], image_quality), thr[h], kFractions);
    };
    std::map<std::string, std::vector<double>> curves;
    for (std::size_t m = 0; m < measures.size(); ++m) {
      std::vector<double> q(images.size(), kFailed);
      for (std::size_t i = 0; i < images.size(); ++i) {
        if (std::isfinite(images[i].values[m]))
          q[i] = configured_mappings[m].apply(images[i].values[m]);
      }
      curves[measures[m].name] = curve_of(q);
    }
    auto model_curve = [&](const UnifiedModel& model) {
      return curve_of(unified(components(images, model.mappings), model.weights, model.power));
    };
    curves[kUnified + "(configured)"] = model_curve(configured);
    curves[kUnified + "(cheap, configured)"] = model_curve(configured_cheap);
    curves[kUnified] = model_curve(fitted);
    curves[kCheap] = model_curve(fitted_cheap);
    return curves;
  };
  auto curves = all_curves(1);

  // The bars at 10 % and 20 % discard (kFractions[2], kFractions[4]).
  auto bars = [&](const std::vector<double>& u, const std::vector<bool>& against) {
    bool below10 = true, below20 = true;
    for (std::size_t m = 0; m < measures.size(); ++m) {
      if (!against[m]) continue;
      const auto& c = curves[measures[m].name];
      below10 &= u[2] < c[2];
      below20 &= u[4] < c[4];
    }
    return nlohmann::json{{"fnmr_at_0", u[0]},
                          {"fnmr_at_10", u[2]},
                          {"fnmr_at_20", u[4]},
                          {"fnmr_relative_cut_at_10", u[0] > 0 ? 1.0 - u[2] / u[0] : 0.0},
                          {"fnmr_relative_cut_at_20", u[0] > 0 ? 1.0 - u[4] / u[0] : 0.0},
                          {"below_every_single_measure_at_10", below10},
                          {"below_every_single_measure_at_20", below20}};
  };
  auto weights_json = [&](const UnifiedModel& model) {
    nlohmann::json j = nlohmann::json::object();
    for (std::size_t m = 0; m < measures.size(); ++m) {
      if (model.weights[m] > 0) j[measures[m].name] = model.weights[m];
    }
    return j;
  };
  fit_json["unified_weights"] = weights_json(fitted);
  fit_json["cheap_unified_weights"] = weights_json(fitted_cheap);
  std::vector<std::string> cheap_names;
  for (std::size_t m = 0; m < measures.size(); ++m) {
    if (cheap[m]) cheap_names.push_back(measures[m].name);
  }
  nlohmann::json out{
      {"data", o.data.string()},
      {"images", images.size()},
      {"failures_to_detect", failures},
      {"from_cache", analysis.from_cache},
      {"survey", analysis.survey},
      {"fmr", o.fmr},
      {"halves",
       {{"calibration",
         {{"identities", "even rank"},
          {"images", members[0].size()},
          {"genuine", cmp[0].genuine.size()},
          {"impostor", cmp[0].impostor.size()},
          {"threshold", thr[0]}}},
        {"test",
         {{"identities", "odd rank"},
          {"images", members[1].size()},
          {"genuine", cmp[1].genuine.size()},
          {"impostor", cmp[1].impostor.size()},
          {"threshold", thr[1]}}}}},
      {"fit", fit_json},
      {"cheap_measures", cheap_names},
      {"fractions", kFractions},
      {"curves", curves},
      {"calibration_curves", all_curves(0)},
      // "unified"/"cheap": the fitted scores (the configured ones with --fit none), against
      // every single measure and against every cheap measure respectively.
      {"bars",
       {{"unified", bars(curves[kUnified], all)},
        {"cheap", bars(curves[kCheap], cheap)},
        {"configured", bars(curves[kUnified + "(configured)"], all)},
        {"cheap_configured", bars(curves[kUnified + "(cheap, configured)"], cheap)}}}};
  if (!o.plot.empty()) {
    std::map<std::string, std::vector<double>> shown;
    for (const auto& m : measures) shown[m.name] = curves[m.name];
    shown[kUnified] = curves[kUnified];
    shown[kCheap] = curves[kCheap];
    write_edc_plot(o.plot, kFractions, shown, kUnified, kCheap);
  }
  return out;
}

}  // namespace laneface::eval
