// 1:N thresholds from the impostor tail (match/calibration.hpp) and the exact fused index
// (match/search_index.hpp, create_fused_index), on known distributions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "match/calibration.hpp"
#include "match/gallery.hpp"
#include "match/matcher.hpp"
#include "match/search_index.hpp"

namespace lm = laneface::match;
using laneface::core::Error;
using laneface::core::ErrorKind;
using laneface::core::Template;

namespace {

std::vector<double> normal_scores(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> s(n);
  for (auto& v : s) v = normal(rng);
  return s;
}

// Simulated searches of n templates of other people (scores ~ N(0, 1)): how many of
// `searches` have their best score above the threshold.
int false_positives(double threshold, std::size_t n, int searches, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  int fp = 0;
  for (int q = 0; q < searches; ++q) {
    double best = -1e9;
    for (std::size_t g = 0; g < n; ++g) best = std::max(best, normal(rng));
    fp += best > threshold;
  }
  return fp;
}

}  // namespace

TEST(Calibration1N, FmrForFpirInvertsTheIndependenceFormula) {
  for (const std::size_t n : {1, 10, 1000, 100000}) {
    const double fmr = lm::fmr_for_fpir(1e-3, n);
    EXPECT_NEAR(1 - std::pow(1 - fmr, double(n)), 1e-3, 1e-9) << n;  // pow loses ~1e-12
    EXPECT_NEAR(fmr, 1e-3 / n, 1e-3 / n * 1e-3) << n;                // ~ FPIR / N when small
  }
  EXPECT_DOUBLE_EQ(lm::fmr_for_fpir(0.01, 0), 0.01);  // an empty gallery counts as one
  EXPECT_THROW(lm::fmr_for_fpir(0, 10), Error);
  EXPECT_THROW(lm::fmr_for_fpir(1, 10), Error);
}

TEST(Calibration1N, CurveFollowsTheQuantilesOfAUniformGrid) {
  std::vector<double> s;
  for (int i = 0; i < 100000; ++i) s.push_back(i / 100000.0);
  const auto curve = lm::fmr_curve(s);
  ASSERT_GE(curve.size(), 9u);
  EXPECT_DOUBLE_EQ(curve.front().fmr, 0.1);
  EXPECT_DOUBLE_EQ(curve.back().fmr, 0);
  EXPECT_DOUBLE_EQ(curve.back().threshold, 99999 / 100000.0);
  for (std::size_t i = 0; i + 1 < curve.size(); ++i) {
    // Same rule as threshold_at_fmr at every point.
    EXPECT_DOUBLE_EQ(curve[i].threshold, lm::threshold_at_fmr(s, curve[i].fmr)) << i;
    EXPECT_GT(curve[i].fmr, curve[i + 1].fmr);
    EXPECT_LE(curve[i].threshold, curve[i + 1].threshold);
  }
  // The smallest positive FMR the count resolves is 1e-5 (one impostor in 100,000).
  EXPECT_NEAR(curve[curve.size() - 2].fmr, 1e-5, 1e-12);
}

// Scores ~ N(0, 1). The 1:N threshold for N = 100 at FPIR 1e-2, checked on fresh simulated
// searches (each the best of 100 new impostor scores): the rate is within binomial noise.
TEST(Calibration1N, PortThresholdGivesTheTargetFpirOnSimulatedSearches) {
  const auto c = lm::fit_calibration("m", normal_scores(2000000, 1), 1e-4, "N(0,1)", 1e-2);
  // 1:few: the N(0,1) quantile at 1e-4 is 3.719.
  EXPECT_NEAR(c.threshold, 3.719, 0.03);
  const std::size_t n = 100;
  const double t = c.port_threshold(n);
  // Exact: FMR = 1 - 0.99^(1/100) = 1.005e-4 -> quantile 3.719 (within interpolation error).
  EXPECT_NEAR(t, 3.718, 0.03);
  EXPECT_FALSE(c.port_extrapolated(n));
  std::mt19937_64 rng(2);
  const int fp = false_positives(t, n, 40000, rng);
  // Expected 400 of 40,000 (sd 20): allow +-25 %.
  EXPECT_NEAR(fp, 400, 100) << "FPIR " << fp / 40000.0;

  // A larger gallery needs a higher threshold; far below what 2e6 scores resolve the
  // threshold is clamped at the highest score and flagged.
  EXPECT_GT(c.port_threshold(10000), t);
  EXPECT_TRUE(c.port_extrapolated(100000000));
  EXPECT_DOUBLE_EQ(c.port_threshold(100000000), c.curve.back().threshold);
}

TEST(Calibration1N, PortThresholdIsNeverBelowTheOneToFewThreshold) {
  // FPIR 1e-2 at N = 1 is FMR 1e-2, a lower threshold than FMR 1e-4: 1:N keeps 1:few's.
  const auto c = lm::fit_calibration("m", normal_scores(200000, 3), 1e-4, "N(0,1)", 1e-2);
  EXPECT_DOUBLE_EQ(c.port_threshold(1), c.threshold);
  lm::Calibration no_curve{"m", 1e-4, 0.4, 10000, "old file", lm::kDefaultTargetFpir, {}};
  EXPECT_DOUBLE_EQ(no_curve.port_threshold(1000000), 0.4);
  EXPECT_FALSE(no_curve.port_extrapolated(1000000));
}

// The vehicle (1:few) threshold at a target FPIR: a non-enrolled occupant searched against a
// vehicle's N documents is falsely matched at that rate whatever N, on simulated searches.
TEST(Calibration1N, VehicleThresholdGivesTheTargetFpirAtEveryVehicleSize) {
  auto c = lm::fit_calibration("m", normal_scores(2000000, 5), 1e-4, "N(0,1)", 1e-3);
  EXPECT_DOUBLE_EQ(c.few_threshold(3), c.threshold);  // off: the fixed FMR threshold
  c.few_target_fpir = 1e-2;
  // N = 1: FMR 1e-2, the N(0,1) quantile 2.326; N = 5: FMR 2.008e-3, quantile 2.877.
  EXPECT_NEAR(c.few_threshold(1), 2.326, 0.03);
  EXPECT_NEAR(c.few_threshold(5), 2.877, 0.03);
  EXPECT_DOUBLE_EQ(c.few_threshold(0), c.few_threshold(1));  // no documents counts as one
  std::mt19937_64 rng(6);
  for (const std::size_t n : {1, 2, 5}) {
    // Expected 400 of 40,000 (sd 20): allow +-25 %.
    EXPECT_NEAR(false_positives(c.few_threshold(n), n, 40000, rng), 400, 100) << "N " << n;
  }
  // Without a curve the fixed threshold stays.
  lm::Calibration no_curve{"m", 1e-4, 0.4, 10000, "old file", lm::kDefaultTargetFpir, {}, 1e-2};
  EXPECT_DOUBLE_EQ(no_curve.few_threshold(4), 0.4);
}

TEST(Calibration1N, CurveRoundTripsAndFilesAreNamedByModel) {
  const auto dir = std::filesystem::temp_directory_path() / "laneface_calibration_1n_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto c = lm::fit_calibration("fused:fr_feature+dlib_resnet", normal_scores(100000, 4), 1e-4,
                                     "x", 1e-3);
  const auto file = lm::calibration_file(dir, c.model_id);
  EXPECT_EQ(file.filename(), "fused_fr_feature_dlib_resnet.toml");
  c.save(file);
  const auto back = lm::load_calibration_for(dir, c.model_id);
  EXPECT_DOUBLE_EQ(back.target_fpir, 1e-3);
  ASSERT_EQ(back.curve.size(), c.curve.size());
  for (std::size_t i = 0; i < c.curve.size(); ++i) {
    EXPECT_DOUBLE_EQ(back.curve[i].fmr, c.curve[i].fmr);
    EXPECT_DOUBLE_EQ(back.curve[i].threshold, c.curve[i].threshold);
  }
  EXPECT_DOUBLE_EQ(back.port_threshold(5000), c.port_threshold(5000));
  // A file for another model, named explicitly: a clear error naming both models.
  try {
    lm::load_calibration_for(file, "fr_feature");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    const std::string what = e.what();
    EXPECT_NE(what.find("fused:fr_feature+dlib_resnet"), std::string::npos) << what;
    EXPECT_NE(what.find("'fr_feature'"), std::string::npos) << what;
  }
  // No file for the model in the directory: kConfig naming the command that writes one.
  try {
    lm::load_calibration_for(dir, "dlib_resnet");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(std::string(e.what()).find("calibrate threshold"), std::string::npos) << e.what();
  }
  // A curve that does not fall is rejected.
  std::ofstream(file) << "[calibration]\nmodel_id = \"m\"\ntarget_fmr = 1e-4\nthreshold = 0.3\n"
                         "impostor_count = 10000\ncurve_fmr = [1e-3, 1e-2]\n"
                         "curve_threshold = [0.2, 0.1]\n";
  EXPECT_THROW(lm::Calibration::load(file), Error);
  std::filesystem::remove_all(dir);
}

// The matcher applies 1:few's threshold in the vehicle gallery and 1:N's in the port gallery.
TEST(Calibration1N, MatcherUsesThePortThresholdInThePortGallery) {
  lm::Calibration c{
      "m", 1e-4, 0.5, 100000, "test", 1e-3, {{0.1, 0.2}, {1e-3, 0.5}, {1e-5, 0.7}, {0, 0.8}}};
  lm::Gallery vehicle("m", 2, lm::Metric::kInnerProduct), port("m", 2, lm::Metric::kInnerProduct);
  vehicle.add({1, 1, 1, lm::EntryKind::kDocument}, Template{"m", {0.6f, 0}});
  for (int i = 0; i < 49; ++i)
    port.add({100 + i, 100 + i, 100 + i, lm::EntryKind::kDocument}, Template{"m", {0, 1}});
  port.add({2, 2, 2, lm::EntryKind::kDocument}, Template{"m", {0.6f, 0}});
  const lm::Matcher matcher(c);
  const double port_t = matcher.port_threshold(port.size());
  EXPECT_NEAR(port_t, 0.67, 0.01);  // N = 50: FMR 2e-5, log-interpolated
  std::vector<std::optional<Template>> probe{Template{"m", {1, 0}}};
  // In the vehicle gallery 0.6 > 0.5 matches.
  auto d = matcher.decide(probe, vehicle, port);
  EXPECT_EQ(d[0].outcome, lm::Outcome::kMatched);
  EXPECT_EQ(d[0].gallery, lm::GalleryScope::kVehicle);
  EXPECT_DOUBLE_EQ(d[0].threshold, 0.5);
  // The same score in the port gallery is below its 1:N threshold: referral.
  const lm::Gallery empty("m", 2, lm::Metric::kInnerProduct);
  d = matcher.decide(probe, empty, port);
  EXPECT_EQ(d[0].outcome, lm::Outcome::kNotMatched);
  EXPECT_DOUBLE_EQ(d[0].threshold, port_t);
  EXPECT_NEAR(*d[0].best_score, 0.6, 1e-6);
}

namespace {

// A fused template: an L2-normalised 24-D inner-product part and a 12-D L2 part.
constexpr std::size_t kIp = 24, kL2 = 12;

std::vector<float> fused_vector(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kIp + kL2);
  double ss = 0;
  for (std::size_t d = 0; d < kIp; ++d) {
    v[d] = normal(rng);
    ss += double(v[d]) * v[d];
  }
  for (std::size_t d = 0; d < kIp; ++d) v[d] = float(v[d] / std::sqrt(ss));
  for (std::size_t d = kIp; d < v.size(); ++d) v[d] = 0.1f * normal(rng);
  return v;
}

const std::vector<lm::FusedPart> kParts{{kIp, lm::Metric::kInnerProduct, 0.01, 0.1},
                                        {kL2, lm::Metric::kL2, -0.8, 0.09}};

double fused_score(const std::vector<float>& a, const std::vector<float>& b) {
  double ip = 0, l2 = 0;
  for (std::size_t d = 0; d < kIp; ++d) ip += double(a[d]) * b[d];
  for (std::size_t d = kIp; d < a.size(); ++d) l2 += (double(a[d]) - b[d]) * (a[d] - b[d]);
  return (ip - 0.01) / 0.1 + (-std::sqrt(l2) + 0.8) / 0.09;
}

}  // namespace

TEST(FusedIndex, RanksAndScoresLikeTheFusedCompare) {
  std::mt19937 rng(7);
  auto index = lm::create_fused_index(kParts);
  EXPECT_EQ(index->dim(), kIp + kL2);
  EXPECT_EQ(index->metric(), lm::Metric::kFused);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 5000; ++i) {  // more than one 2048-row block
    rows.push_back(fused_vector(rng));
    index->add(i, rows.back());
  }
  for (int q = 0; q < 20; ++q) {
    const auto query = fused_vector(rng);
    std::vector<std::pair<double, int>> truth;
    for (int i = 0; i < int(rows.size()); ++i) truth.push_back({fused_score(query, rows[i]), i});
    std::sort(truth.rbegin(), truth.rend());
    const auto hits = index->search(query, 5);
    ASSERT_EQ(hits.size(), 5u);
    for (std::size_t k = 0; k < hits.size(); ++k) {
      EXPECT_NEAR(hits[k].score, truth[k].first, 1e-3) << q << " " << k;
      if (truth[k].first - (k + 1 < truth.size() ? truth[k + 1].first : -1e9) > 1e-3) {
        EXPECT_EQ(hits[k].id, truth[k].second) << q << " " << k;
      }
    }
  }
  // Removal keeps the rest searchable (the last row moves into the hole).
  EXPECT_TRUE(index->remove(17));
  EXPECT_FALSE(index->remove(17));
  EXPECT_EQ(index->size(), rows.size() - 1);
  const auto top = index->search(rows[4999], 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].id, 4999);
  EXPECT_NE(index->search(rows[17], 1)[0].id, 17);
}

TEST(FusedIndex, BadPartsAndKindsAreErrors) {
  EXPECT_THROW(lm::create_fused_index({kParts[0]}), Error);
  EXPECT_THROW(lm::create_fused_index({kParts[0], {4, lm::Metric::kL2, 0, 0}}), Error);
  EXPECT_THROW(lm::create_index(lm::IndexKind::kExactFloat, 8, lm::Metric::kFused), Error);
  const auto metric = lm::GalleryMetric::fused(kParts);
  EXPECT_THROW(lm::Gallery("fused", kIp + kL2 + 1, metric), Error);  // wrong total size
  try {
    lm::Gallery("fused", kIp + kL2, metric, lm::IndexKind::kFaissIvf);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
  }
  lm::Gallery g("fused", kIp + kL2, metric);
  std::mt19937 rng(9);
  const auto v = fused_vector(rng);
  g.add({1, 1, 1, lm::EntryKind::kDocument}, Template{"fused", v});
  EXPECT_NEAR(g.search(Template{"fused", v}, 1)[0].score, fused_score(v, v), 1e-4);
}
