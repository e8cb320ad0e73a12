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
#include "eval/edc_fit.hpp"
#include "eval/verification.hpp"
#include "quality/template_head.hpp"

namespace laneface::eval {
namespace {

using namespace edc_fit;  // NOLINT: the fitting code (eval/edc_fit.hpp)

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

  // The unified score's learned input (quality.unified.head) is column uh_col of the values:
  // an input of the unified score only, never a single measure's curve (`against` leaves it
  // out). Fitted with o.unified_head (its inputs: the template, its norm and every measure's
  // component but TemplateQualityHead's), else the configured one's values.
  const auto& cfg = assessor.config();
  const std::size_t uh_col = measures.size();
  const bool fit_uh = o.unified_head && o.fit != "none";
  if (fit_uh && !refit_head)
    throw core::Error(core::ErrorKind::kInvalidInput,
                      "edc: --unified-head needs TemplateQualityHead and TemplateNorm configured "
                      "and the EDC's templates to be their input (fr_feature with mirroring)");
  names.push_back(std::string(quality::kUnifiedName) + ".head");
  all.push_back(fit_uh);
  cheap.push_back(false);
  configured_mappings.push_back(!cfg.unified_head.empty()    ? cfg.unified_head_mapping
                                : head_col < measures.size() ? configured_mappings[head_col]
                                                             : quality::Mapping{});
  for (auto& rec : images) rec.values.push_back(kNaN);
  std::vector<bool> against(names.size(), true);
  against[uh_col] = false;
  HeadInputs uh_in(norm_col);
  uh_in.mappings = configured_mappings;
  bool uh_configured = false;
  if (fit_uh) {
    for (std::size_t m = 0; m < measures.size(); ++m) {
      if (m == head_col) continue;
      uh_in.component_cols.push_back(m);
      uh_in.component_names.push_back(measures[m].name);
    }
  } else if (!cfg.unified_head.empty() && head_reads_templates(engine, assessor)) {
    const auto h = quality::TemplateHead::load(cfg.unified_head);
    for (const auto& [name, w] : h.component_weights) {
      const std::size_t c = col_of(name);
      if (c >= measures.size())
        throw core::Error(
            core::ErrorKind::kConfig,
            cfg.unified_head.string() + ": reads measure '" + name + "', which is not configured");
      uh_in.component_cols.push_back(c);
      uh_in.component_names.push_back(name);
    }
    if (h.recognizer == engine.recognizer().model_id()) {
      for (auto& rec : images) rec.values[uh_col] = head_predict(h, rec, uh_in);
      uh_configured = true;
    }
  }
  nlohmann::json uh_json = nullptr;
  HeadSettings uh_settings{1, true, true};
  std::vector<std::vector<double>> uh_fold;  // per CV fold: the column fitted without it
  if (fit_uh) {
    std::vector<HeadSettings> settings;
    for (const auto& s : head_settings()) {
      if (s.use_norm) settings.push_back({s.lambda, true, true});
    }
    if (!o.quiet)
      std::fprintf(stderr, "edc: cross-validating %zu unified-head settings\n", settings.size());
    const auto cv =
        cross_validate_head(images, members[0], cmp[0], thr[0], uh_in, settings, o.threads);
    nlohmann::json table = nlohmann::json::object();
    std::size_t best = 0;
    for (std::size_t k = 0; k < settings.size(); ++k) {
      table[settings[k].name()] = {{"mse", cv[k].first}, {"edc_objective", cv[k].second}};
      if (cv[k].first < cv[best].first) best = k;
    }
    uh_settings = settings[best];
    uh_json = {{"inputs", uh_in.component_names},
               {"cross_validation", table},
               {"settings", uh_settings.name()},
               {"calibration_values", "out of fold (stacking)"}};
    if (o.fit == "cv") {
      const auto fold = identity_folds(images, members[0]);
      for (int k = 0; k < kFolds; ++k) {
        std::vector<std::size_t> train;
        for (const std::size_t i : members[0]) {
          if (fold.at(i) != k) train.push_back(i);
        }
        const auto fit_cmp = genuine_subset(cmp[0], [&](std::size_t i) { return fold.at(i) != k; });
        uh_fold.push_back(head_column(images, train, fit_cmp, uh_in, uh_settings));
      }
    }
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
            if (!uh_fold.empty()) copy[i].values[uh_col] = uh_fold[std::size_t(k)][i];
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
    std::vector<double> out(names.size(), 0.0);
    for (std::size_t m = 0; m < measures.size(); ++m) {
      const auto it = w.find(measures[m].name);
      if (allowed[m] && it != w.end()) out[m] = std::abs(it->second);
    }
    return out;
  };
  UnifiedModel configured{configured_mappings, configured_weights(cfg.unified_weights, against),
                          cfg.unified_power};
  if (uh_configured) configured.weights[uh_col] = cfg.unified_head_weight;
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
      if (!o.quiet)
        std::fprintf(stderr, "edc: cross-validating %s fit methods\n",
                     o.cv_methods.empty() ? "all" : "the named");
      // The rule (edc_fit::choose_method): the least objective among the methods whose
      // cross-validated FNMR at 10 % and 20 % discard is below that of every single measure
      // (the bar) by at least kCvMargin (relative); failing that, below at all; the
      // least objective of all when none is.
      // Only mappings that keep the whole range are eligible: span50 and span25 give every
      // face above the calibration median (quartile) 100, so the score could not rank the
      // better shots, which the lane's best-shot choice and portrait choice need.
      auto eligible = [](const FitMethod& m) {
        return m.mappings != Mappings::kSpan50 && m.mappings != Mappings::kSpan25;
      };
      auto choose = [&](const CvResult& cv, const std::vector<FitMethod>& ms,
                        const std::vector<bool>& against, nlohmann::json& table) {
        table = nlohmann::json::object();
        std::vector<bool> ok(ms.size());
        for (std::size_t k = 0; k < ms.size(); ++k) {
          ok[k] = eligible(ms[k]);
          table[ms[k].name] = {{"objective", cv.objective[k]},
                               {"fnmr_at_10", cv.at10[k]},
                               {"fnmr_at_20", cv.at20[k]},
                               {"below_every_single_measure", cv.below_singles(k, names, against)},
                               {"margin", cv.margin(k, names, against)},
                               {"eligible", ok[k]}};
        }
        const std::size_t best = choose_method(cv, ok, names, against);
        return method_named(ms[best == ms.size() ? 0 : best].name);
      };
      nlohmann::json table_all = nlohmann::json::object(), table_cheap,
                     singles = nlohmann::json::object();
      std::size_t chosen_head = 0;
      int chosen_rank = -1;
      double chosen_objective = 0;
      std::vector<FitMethod> cv_methods;
      for (const auto& m : methods) {
        if (o.cv_methods.empty() ||
            ("," + o.cv_methods + ",").find("," + m.name + ",") != std::string::npos)
          cv_methods.push_back(m);
      }
      if (cv_methods.empty())
        throw core::Error(core::ErrorKind::kInvalidInput,
                          "edc: --cv-methods names no known method: " + o.cv_methods);
      for (std::size_t c = 0; c < fold_images.size(); ++c) {
        const auto cv = cross_validate(fold_images[c], members[0], cmp[0], thr[0],
                                       configured_mappings, names, all, cv_methods, o.threads);
        nlohmann::json table;
        const FitMethod* m = choose(cv, cv_methods, against, table);
        std::size_t k = 0;
        while (cv_methods[k].name != m->name) ++k;
        const int rank = cv_rank(cv, k, names, against);
        if (c == 0 || rank > chosen_rank ||
            (rank == chosen_rank && cv.objective[k] < chosen_objective)) {
          chosen = m;
          chosen_head = c;
          chosen_rank = rank;
          chosen_objective = cv.objective[k];
        }
        const std::string key = head_candidates.empty() ? "" : head_candidates[c].name();
        nlohmann::json single_table = nlohmann::json::object();
        for (const auto& [name, v] : cv.singles) {
          if (name == names[uh_col]) continue;  // not a single measure
          single_table[name] = {{"objective", v[0]}, {"fnmr_at_10", v[1]}, {"fnmr_at_20", v[2]}};
        }
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
      for (const auto& m : cv_methods) {
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
           "(against the cheap measures for the cheap gate) by at least the relative margin; "
           "else of those below at all; else the least objective"},
          {"margin", kCvMargin},
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
    if (fit_uh) {  // refitted on the whole calibration half (out-of-fold values there)
      quality::TemplateHead uh;
      const auto col = head_column(images, members[0], cmp[0], uh_in, uh_settings, &uh);
      for (std::size_t i = 0; i < images.size(); ++i) images[i].values[uh_col] = col[i];
      uh.recognizer = engine.recognizer().model_id();
      uh.provenance = {
          {"fitted_by", "laneface eval edc --fit " + o.fit +
                            " --unified-head --unified-head-out FILE" +
                            (o.cv_methods.empty() ? "" : " --cv-methods " + o.cv_methods)},
          {"data", o.data.filename().string()},
          {"half", "calibration: identities of even rank (sorted ids); the odd ones never seen"},
          {"mated_comparisons", cmp[0].genuine.size()},
          {"target",
           "mean cosine score of the image's mated comparisons, weighted by their number"},
          {"method",
           "ridge regression on standardised features (template, its norm, the components of "
           "component_weights), ridge lambda x the mean number of comparisons per image"},
          {"settings", uh_settings.name()},
          {"chosen_by",
           "ridge: least mean squared error in 5-fold cross-validation over the "
           "calibration identities"}};
      if (!o.unified_head_out.empty()) {
        std::ofstream out(o.unified_head_out, std::ios::trunc);
        out << uh.to_json().dump(1) << "\n";
        if (!out)
          throw core::Error(core::ErrorKind::kIo, o.unified_head_out.string() +
                                                      ": cannot write the unified score's head");
        uh_json["written_to"] = o.unified_head_out.string();
      }
      fit_json["unified_head"] = uh_json;
    }
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
    if (fitted.weights[uh_col] > 0) {
      const auto& mp = fitted.mappings[uh_col];
      fit_json["config"]["unified_head"] = {
          {"head_mapping",
           {{"kind", mp.kind == quality::Mapping::Kind::kLinear ? "linear" : "sigmoid"},
            {"from", mp.from},
            {"to", mp.to}}},
          {"head_weight", fitted.weights[uh_col]}};
    }
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
    for (std::size_t m = 0; m < names.size(); ++m) {
      if (model.weights[m] > 0) j[names[m]] = model.weights[m];
    }
    return j;
  };
  fit_json["unified_weights"] = weights_json(fitted);
  fit_json["cheap_unified_weights"] = weights_json(fitted_cheap);
  // How noisy the bars are: the bootstrap over the test half's identities of the unified
  // score's FNMR minus that of each single measure among the three lowest at 10 % or at 20 %.
  const auto bootstrap_json = [&](const std::vector<ImageRecord>& imgs, const Comparisons& c,
                                  double threshold,
                                  std::map<std::string, std::vector<double>>& cv) {
    const std::vector<double> at{0.1, 0.2};
    const std::uint64_t seed = 2026;
    std::set<std::size_t> close;
    for (const std::size_t f : {std::size_t(2), std::size_t(4)}) {  // kFractions: 10 %, 20 %
      std::vector<std::size_t> order(measures.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](auto a, auto b) { return cv[measures[a].name][f] < cv[measures[b].name][f]; });
      for (std::size_t k = 0; k < std::min<std::size_t>(3, order.size()); ++k)
        close.insert(order[k]);
    }
    const auto u = unified(components(imgs, fitted.mappings), fitted.weights, fitted.power);
    nlohmann::json j{{"resamples", o.bootstrap},
                     {"seed", seed},
                     {"over",
                      "identities of the test half, drawn with replacement; the "
                      "threshold fixed"},
                     {"difference", "FNMR(UnifiedQualityScore) - FNMR(measure)"},
                     {"against", nlohmann::json::object()}};
    for (const std::size_t m : close) {
      std::vector<double> q(imgs.size(), kFailed);
      for (std::size_t i = 0; i < imgs.size(); ++i) {
        if (std::isfinite(imgs[i].values[m]))
          q[i] = configured_mappings[m].apply(imgs[i].values[m]);
      }
      const auto d = bootstrap_difference(imgs, c, u, q, threshold, at, o.bootstrap, seed);
      nlohmann::json per = nlohmann::json::object();
      for (std::size_t f = 0; f < at.size(); ++f) {
        const auto& v = d[f];
        if (v.empty()) continue;
        const auto pct = [&](double p) { return v[std::size_t(p * double(v.size() - 1))]; };
        const double below =
            double(std::count_if(v.begin(), v.end(), [](double x) { return x < 0; })) /
            double(v.size());
        const std::size_t fi = f == 0 ? 2 : 4;
        per[f == 0 ? "at_10" : "at_20"] = {
            {"observed", cv[kUnified][fi] - cv[measures[m].name][fi]},
            {"median", pct(0.5)},
            {"ci95", {pct(0.025), pct(0.975)}},
            {"share_of_resamples_unified_lower", below}};
      }
      j["against"][measures[m].name] = per;
    }
    return j;
  };
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
  if (o.bootstrap > 0) out["bootstrap"] = bootstrap_json(images, cmp[1], thr[1], curves);
  return out;
}

}  // namespace laneface::eval
