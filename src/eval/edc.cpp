#include "eval/edc.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <set>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "eval/verification.hpp"

namespace laneface::eval {
namespace {

constexpr double kFailed = -1;  // component of a measure that failed to assess

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct ImageRecord {
  int identity = 0;
  bool ok = false;                 // a face was found
  std::vector<double> raw;         // per analysed measure, NaN when not assessed
  std::vector<double> components;  // per configured measure, kFailed when not assessed
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

// Unified score of every image for the given weights (failed components count as 0).
std::vector<double> unified(const std::vector<ImageRecord>& images,
                            const std::vector<double>& weights) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> u(images.size(), 0.0);
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (!images[i].ok || total <= 0) continue;
    double s = 0;
    for (std::size_t m = 0; m < weights.size(); ++m)
      s += weights[m] * std::max(0.0, images[i].components[m]);
    u[i] = s / total;
  }
  return u;
}

const std::vector<double> kWeightLevels{0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0};
const std::vector<double> kFractions{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5};

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
                    const std::string& highlight) {
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
    if (n != highlight) draw(c, {170, 170, 170}, 1);
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

Analysis analyse(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                 const EdcOptions& o, const core::CsvTable& table) {
  const auto col_image = table.column("image"), col_id = table.column("identity");
  std::vector<std::string> names;
  for (const auto& m : assessor.config().measures) names.push_back(m.name);
  if (auto cached = load_cache(o, engine, names, table.rows.size())) return std::move(*cached);
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

// Logistic regression of "a mated comparison of this image fails at the threshold" on the
// image's components (0..1, a failed measure 0), one binomial observation per image of the
// calibration half (its mated comparisons and how many failed), Newton's method with a small
// ridge. The unified score is a weighted mean, so weights must not be negative: a measure whose
// fitted effect points the wrong way is dropped and the rest refitted. Returns the weights
// (the negated coefficients), scaled so that the largest is 1.
std::vector<double> fit_weights_logistic(const std::vector<ImageRecord>& images,
                                         std::size_t n_measures, const Comparisons& cmp,
                                         double threshold) {
  std::map<std::size_t, std::pair<double, double>> counts;  // image -> (comparisons, failures)
  for (std::size_t g = 0; g < cmp.genuine.size(); ++g) {
    const bool fail = cmp.genuine[g] <= threshold;
    for (const std::size_t i : {cmp.genuine_pairs[g].first, cmp.genuine_pairs[g].second}) {
      counts[i].first += 1;
      counts[i].second += fail;
    }
  }
  std::vector<bool> active(n_measures, true);
  std::vector<double> coef;
  for (int pass = 0; pass <= int(n_measures); ++pass) {
    std::vector<std::size_t> cols;
    for (std::size_t m = 0; m < n_measures; ++m) {
      if (active[m]) cols.push_back(m);
    }
    const int k = int(cols.size()) + 1;  // + intercept
    cv::Mat beta = cv::Mat::zeros(k, 1, CV_64F);
    for (int iter = 0; iter < 50; ++iter) {
      cv::Mat grad = cv::Mat::zeros(k, 1, CV_64F), hess = cv::Mat::zeros(k, k, CV_64F);
      std::vector<double> x(std::size_t(k), 1.0);
      for (const auto& [i, nf] : counts) {
        for (std::size_t c = 0; c < cols.size(); ++c)
          x[c + 1] = std::max(0.0, images[i].components[cols[c]]) / 100;
        double z = 0;
        for (int c = 0; c < k; ++c) z += beta.at<double>(c) * x[std::size_t(c)];
        const double p = 1 / (1 + std::exp(-z));
        for (int a = 0; a < k; ++a) {
          grad.at<double>(a) += (nf.first * p - nf.second) * x[std::size_t(a)];
          for (int b = 0; b < k; ++b)
            hess.at<double>(a, b) += nf.first * p * (1 - p) * x[std::size_t(a)] * x[std::size_t(b)];
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
    coef.assign(n_measures, 0.0);
    bool dropped = false;
    for (std::size_t c = 0; c < cols.size(); ++c) {
      coef[cols[c]] = beta.at<double>(int(c) + 1);
      if (coef[cols[c]] > 0) {  // higher component, more failures: not a quality
        active[cols[c]] = false;
        dropped = true;
      }
    }
    if (!dropped) break;
  }
  std::vector<double> w(n_measures, 0.0);
  double top = 0;
  for (std::size_t m = 0; m < n_measures; ++m) top = std::max(top, w[m] = std::max(0.0, -coef[m]));
  if (top > 0)
    for (auto& v : w) v = std::round(100 * v / top) / 100;  // two decimals, as in the config
  return w;
}

// Coordinate descent for the unified score's weights on the calibration half: from all
// weights 0, each step tries every weight level for every measure and applies the single
// change that lowers the objective (mean FNMR at 5-20 % discard) most, until none does.
std::vector<double> fit_weights(const std::vector<ImageRecord>& images, std::size_t n_measures,
                                const Comparisons& cmp, double threshold,
                                std::vector<double> start) {
  const std::vector<double> fit_at{0.05, 0.1, 0.15, 0.2};
  auto objective = [&](const std::vector<double>& w) {
    const auto c = edc_curve(cmp.genuine, pair_quality(cmp, unified(images, w)), threshold, fit_at);
    return std::accumulate(c.begin(), c.end(), 0.0) / double(c.size());
  };
  std::vector<double> weights = start.empty() ? std::vector<double>(n_measures, 0.0) : start;
  double best = objective(weights);
  for (int step = 0; step < 4 * int(n_measures); ++step) {
    std::vector<double> step_best;
    double step_value = best - 1e-9;
    for (std::size_t m = 0; m < n_measures; ++m) {
      std::vector<double> levels = kWeightLevels;
      if (!start.empty()) {  // refine: scale the measure's weight, or give it a small one
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
  return weights;
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
  const auto table = core::read_csv(o.data / "labels.csv");
  const auto& measures = assessor.config().measures;
  Analysis analysis = analyse(engine, assessor, o, table);
  auto& images = analysis.images;
  // Components from the raw values with the configured mappings (kFailed when not assessed).
  for (auto& rec : images) {
    rec.components.assign(measures.size(), kFailed);
    for (std::size_t m = 0; m < measures.size(); ++m) {
      const auto it =
          std::find(analysis.measure_names.begin(), analysis.measure_names.end(), measures[m].name);
      const double raw = rec.raw[std::size_t(it - analysis.measure_names.begin())];
      if (rec.ok && std::isfinite(raw)) rec.components[m] = measures[m].mapping.apply(raw);
    }
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

  // Fit the weights on half 0 only.
  std::vector<double> weights;
  switch (o.fit) {
    case EdcFit::kLogistic:
      weights = fit_weights_logistic(images, measures.size(), cmp[0], thr[0]);
      break;
    case EdcFit::kDescent:
      weights = fit_weights(images, measures.size(), cmp[0], thr[0], {});
      break;
    case EdcFit::kLogisticThenDescent:
      weights = fit_weights(images, measures.size(), cmp[0], thr[0],
                            fit_weights_logistic(images, measures.size(), cmp[0], thr[0]));
      break;
  }

  // Every curve on half 1.
  std::map<std::string, std::vector<double>> curves;
  for (std::size_t m = 0; m < measures.size(); ++m) {
    std::vector<double> q(images.size(), kFailed);
    for (std::size_t i = 0; i < images.size(); ++i) {
      if (images[i].ok) q[i] = images[i].components[m];
    }
    curves[measures[m].name] =
        edc_curve(cmp[1].genuine, pair_quality(cmp[1], q), thr[1], kFractions);
  }
  std::vector<double> configured(measures.size(), 0.0);
  for (std::size_t m = 0; m < measures.size(); ++m) {
    const auto it = assessor.config().unified_weights.find(measures[m].name);
    configured[m] = it == assessor.config().unified_weights.end() ? 0.0 : it->second;
  }
  curves["UnifiedQualityScore(configured)"] = edc_curve(
      cmp[1].genuine, pair_quality(cmp[1], unified(images, configured)), thr[1], kFractions);
  const std::string kUnified = quality::kUnifiedName;
  curves[kUnified] =
      edc_curve(cmp[1].genuine, pair_quality(cmp[1], unified(images, weights)), thr[1], kFractions);

  const auto& u = curves[kUnified];
  const std::size_t i10 = 2, i20 = 4;  // kFractions[2] = 0.1, kFractions[4] = 0.2
  bool below10 = true, below20 = true;
  for (std::size_t m = 0; m < measures.size(); ++m) {
    const auto& c = curves[measures[m].name];
    below10 &= u[i10] < c[i10];
    below20 &= u[i20] < c[i20];
  }
  nlohmann::json fitted = nlohmann::json::object();
  for (std::size_t m = 0; m < measures.size(); ++m) {
    if (weights[m] > 0) fitted[measures[m].name] = weights[m];
  }
  nlohmann::json out{{"data", o.data.string()},
                     {"images", images.size()},
                     {"failures_to_detect", failures},
                     {"from_cache", analysis.from_cache},
                     {"survey", analysis.survey},
                     {"fmr", o.fmr},
                     {"halves",
                      {{"calibration",
                        {{"images", members[0].size()},
                         {"genuine", cmp[0].genuine.size()},
                         {"impostor", cmp[0].impostor.size()},
                         {"threshold", thr[0]}}},
                       {"test",
                        {{"images", members[1].size()},
                         {"genuine", cmp[1].genuine.size()},
                         {"impostor", cmp[1].impostor.size()},
                         {"threshold", thr[1]}}}}},
                     {"fit", o.fit == EdcFit::kLogistic  ? "logistic"
                             : o.fit == EdcFit::kDescent ? "descent"
                                                         : "logistic+descent"},
                     {"fitted_weights", fitted},
                     {"fractions", kFractions},
                     {"curves", curves},
                     {"bars",
                      {{"fnmr_relative_cut_at_10", u[0] > 0 ? 1.0 - u[i10] / u[0] : 0.0},
                       {"unified_below_every_measure_at_10", below10},
                       {"unified_below_every_measure_at_20", below20}}}};
  if (!o.plot.empty()) write_edc_plot(o.plot, kFractions, curves, kUnified);
  return out;
}

}  // namespace laneface::eval
