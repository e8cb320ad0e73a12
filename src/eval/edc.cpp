#include "eval/edc.hpp"

#include <algorithm>
#include <cstdio>
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

struct ImageRecord {
  int identity = 0;
  bool ok = false;                 // a face was found
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

nlohmann::json run_edc(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                       const EdcOptions& o) {
  const auto table = core::read_csv(o.data / "labels.csv");
  const auto col_image = table.column("image"), col_id = table.column("identity");
  const auto& measures = assessor.config().measures;
  std::vector<ImageRecord> images(table.rows.size());
  core::parallel_for(
      images.size(), o.threads,
      [&](std::size_t i) {
        const auto& row = table.rows[i];
        auto& rec = images[i];
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
        if (!k) return;
        const auto report = assessor.assess(img, faces, *k);
        for (const auto& m : measures) {
          const auto* r = report.find(m.name);
          rec.components.push_back(r && r->component ? *r->component : kFailed);
        }
        rec.tmpl = engine.embed(img, faces[*k]);
        rec.ok = true;
      },
      [&](std::size_t done) {
        if (!o.quiet) std::fprintf(stderr, "edc: %zu / %zu images\n", done, images.size());
      });

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

  // Fit the weights on half 0: greedy coordinate search over a few weight levels.
  const std::vector<double> fit_at{0.05, 0.1, 0.15, 0.2};
  auto objective = [&](const std::vector<double>& w) {
    const auto c =
        edc_curve(cmp[0].genuine, pair_quality(cmp[0], unified(images, w)), thr[0], fit_at);
    return std::accumulate(c.begin(), c.end(), 0.0) / c.size();
  };
  std::vector<double> weights(measures.size(), 0.0);
  double best = objective(weights);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t m = 0; m < measures.size(); ++m) {
      for (const double level : {0.0, 0.5, 1.0, 2.0, 4.0}) {
        auto w = weights;
        w[m] = level;
        const double v = objective(w);
        if (v < best - 1e-9) {
          best = v;
          weights = w;
        }
      }
    }
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
