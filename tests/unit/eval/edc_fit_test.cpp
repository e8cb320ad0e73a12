// The unified score's fitting logic (eval/edc_fit.hpp) on hand-made data with known answers:
// the cross-validation's choice with a margin below every single measure, and the descent on
// the low-quality tail.
#include "eval/edc_fit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace ef = laneface::eval::edc_fit;

namespace {

// Three methods against two single measures (CV FNMR at 10 % / 20 %: 0.040 / 0.030 and
// 0.050 / 0.035).
ef::CvResult three_methods() {
  ef::CvResult cv;
  cv.objective = {0.020, 0.025, 0.030};
  cv.at10 = {0.0395, 0.036, 0.041};  // 1.25 %, 10 %, -2.5 % below the best single at 10 %
  cv.at20 = {0.0290, 0.027, 0.025};  // 3.3 %, 10 %, 16.7 % below the best single at 20 %
  cv.singles["A"] = {0.03, 0.040, 0.030};
  cv.singles["B"] = {0.04, 0.050, 0.035};
  return cv;
}

}  // namespace

TEST(EdcFit, MarginIsTheLeastRelativeGapBelowEverySingleMeasure) {
  const auto cv = three_methods();
  const std::vector<std::string> names{"A", "B"};
  const std::vector<bool> both{true, true}, only_b{false, true};
  EXPECT_NEAR(cv.margin(0, names, both), (0.040 - 0.0395) / 0.040, 1e-12);
  EXPECT_NEAR(cv.margin(1, names, both), 0.10, 1e-12);
  EXPECT_NEAR(cv.margin(2, names, both), (0.040 - 0.041) / 0.040, 1e-12);  // above A at 10 %
  EXPECT_NEAR(cv.margin(2, names, only_b), (0.050 - 0.041) / 0.050, 1e-12);
  EXPECT_TRUE(cv.below_singles(0, names, both));
  EXPECT_FALSE(cv.below_singles(2, names, both));
  EXPECT_EQ(ef::cv_rank(cv, 0, names, both), 1);  // below, but by less than 5 %
  EXPECT_EQ(ef::cv_rank(cv, 1, names, both), 2);
  EXPECT_EQ(ef::cv_rank(cv, 2, names, both), 0);
}

TEST(EdcFit, ChoiceNeedsTheMarginBeforeTheObjective) {
  const auto cv = three_methods();
  const std::vector<std::string> names{"A", "B"};
  const std::vector<bool> both{true, true};
  // Method 0 has the least objective but is below A by only 1.25 % at 10 %: method 1 wins.
  EXPECT_EQ(ef::choose_method(cv, {true, true, true}, names, both), 1u);
  // Without the margin requirement, the least objective among those below: method 0.
  EXPECT_EQ(ef::choose_method(cv, {true, true, true}, names, both, 0.0), 0u);
  // Method 1 not eligible: the one below at all (0) before the one above (2).
  EXPECT_EQ(ef::choose_method(cv, {true, false, true}, names, both), 0u);
  // None below: the least objective.
  EXPECT_EQ(ef::choose_method(cv, {false, false, true}, names, both), 2u);
  EXPECT_EQ(ef::choose_method(cv, {false, false, false}, names, both), 3u);
}

TEST(EdcFit, TailDescentWeighsTheMeasureThatFindsTheTailFailures) {
  // 200 images in 100 mated pairs (2i, 2i+1). Pairs 90-99 fail (score 0.1), the rest match
  // (last, so that ties in input order would not discard them by chance).
  // Measure 0 rates the images of failing pairs lowest; measure 1 scatters them (37 i mod 100:
  // says little about failures); measure 2 rates them best and is not allowed.
  const std::size_t n = 200;
  ef::Comparisons cmp;
  ef::Matrix comp(n, std::vector<double>(3, 50.0));
  for (std::size_t p = 0; p < n / 2; ++p) {
    cmp.genuine.push_back(p >= 90 ? 0.1 : 0.9);
    cmp.genuine_pairs.emplace_back(2 * p, 2 * p + 1);
  }
  for (std::size_t i = 0; i < n; ++i) {
    comp[i][0] = i >= 180 ? double(i) - 170.0 : 60.0 + double(i % 7);
    comp[i][1] = double((i * 37) % 100);
    comp[i][2] = 100.0 - comp[i][0];  // rates the failures best
  }
  const std::vector<bool> allowed{true, true, false};
  const auto w = ef::fit_descent(comp, cmp, 0.5, allowed, 1.0, {}, ef::kTailFractions);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_DOUBLE_EQ(w[0], 1.0);  // the largest weight is 1
  EXPECT_LT(w[1], 0.5);
  EXPECT_EQ(w[2], 0.0);
  // Discarding 10 % of the comparisons by the fitted score removes every failure.
  const auto u = ef::unified(comp, w, 1.0);
  EXPECT_DOUBLE_EQ(ef::edc_objective(cmp, u, 0.5, {0.1, 0.2}), 0.0);
  EXPECT_GT(ef::edc_objective(cmp, ef::unified(comp, {0, 1, 0}, 1.0), 0.5, {0.1, 0.2}), 0.05);
}

TEST(EdcFit, MethodNamesIncludeTheTailDescent) {
  const auto methods = ef::fit_methods();
  std::size_t tail = 0;
  for (const auto& m : methods) {
    if (m.name.rfind("logistic+tail/", 0) == 0) {
      ++tail;
      EXPECT_EQ(m.weights, ef::FitMethod::Weights::kLogisticThenTailDescent);
    }
  }
  EXPECT_EQ(tail, 15u);  // 5 kinds of mappings x 3 means
  EXPECT_EQ(methods.size(), 75u);
}

TEST(EdcFit, BootstrapOfTheSameQualityIsZeroAndOfABetterOneBelowZero) {
  // 100 identities of 2 images (one mated comparison each); identities 0-9 fail. Quality a
  // rates the failing images lowest, b rates them highest.
  std::vector<ef::ImageRecord> images(200);
  ef::Comparisons cmp;
  std::vector<double> a(200), b(200);
  for (std::size_t p = 0; p < 100; ++p) {
    images[2 * p].identity = images[2 * p + 1].identity = int(p);
    cmp.genuine.push_back(p < 10 ? 0.1 : 0.9);
    cmp.genuine_pairs.emplace_back(2 * p, 2 * p + 1);
    for (const std::size_t i : {2 * p, 2 * p + 1}) {
      a[i] = double(p);
      b[i] = 100.0 - double(p);
    }
  }
  const std::vector<double> at{0.1, 0.2};
  const auto same = ef::bootstrap_difference(images, cmp, a, a, 0.5, at, 200, 7);
  ASSERT_EQ(same.size(), 2u);
  ASSERT_EQ(same[0].size(), 200u);
  EXPECT_EQ(same[0].front(), 0.0);
  EXPECT_EQ(same[0].back(), 0.0);
  const auto better = ef::bootstrap_difference(images, cmp, a, b, 0.5, at, 200, 7);
  EXPECT_LT(better[0].back(), 0.0);  // every resample: a discards failures, b does not
  EXPECT_TRUE(std::is_sorted(better[1].begin(), better[1].end()));
  // The same seed gives the same resamples.
  EXPECT_EQ(ef::bootstrap_difference(images, cmp, a, b, 0.5, at, 50, 7)[0],
            ef::bootstrap_difference(images, cmp, a, b, 0.5, at, 50, 7)[0]);
}

TEST(EdcFit, HeadWithComponentsLearnsFromThem) {
  // 60 identities of 3 images; an image's mated scores follow its measure-0 value (raw 0..1,
  // component 0..100) and not its template (noise).
  std::vector<ef::ImageRecord> images;
  for (int id = 0; id < 60; ++id) {
    for (int k = 0; k < 3; ++k) {
      ef::ImageRecord r;
      r.identity = id;
      r.ok = true;
      const double v = double((id * 7 + k * 13) % 50) / 50.0;
      r.values = {v, 2.0};  // measure 0, and a TemplateNorm column (1)
      r.tmpl.values = {float(std::sin(id * 3.0 + k)), float(std::cos(id * 5.0 + k)), 0.5f};
      images.push_back(r);
    }
  }
  ef::Comparisons cmp;
  for (std::size_t i = 0; i < images.size(); ++i) {
    for (std::size_t j = i + 1; j < images.size(); ++j) {
      if (images[i].identity != images[j].identity) continue;
      cmp.genuine.push_back(0.2 + 0.3 * (images[i].values[0] + images[j].values[0]));
      cmp.genuine_pairs.emplace_back(i, j);
    }
  }
  std::vector<std::size_t> members(images.size());
  for (std::size_t i = 0; i < members.size(); ++i) members[i] = i;
  ef::HeadInputs in(1);
  in.component_cols = {0};
  in.component_names = {"M0"};
  in.mappings = {laneface::quality::Mapping{laneface::quality::Mapping::Kind::kLinear, 0, 1},
                 laneface::quality::Mapping{}};
  const auto h = ef::fit_head(images, members, cmp, in, {1e-4, true, true});
  ASSERT_EQ(h.component_weights.size(), 1u);
  EXPECT_EQ(h.component_weights[0].first, "M0");
  EXPECT_GT(h.component_weights[0].second, 0.0);
  for (const auto& r : images) ASSERT_TRUE(std::isfinite(ef::head_predict(h, r, in)));
  // Ranking: higher measure value, higher prediction.
  ef::ImageRecord lo = images[0], hi = images[0];
  lo.values[0] = 0.0;
  hi.values[0] = 1.0;
  EXPECT_GT(ef::head_predict(h, hi, in), ef::head_predict(h, lo, in));
  // Without use_components the head has no component weights and needs no component inputs.
  const auto plain = ef::fit_head(images, members, cmp, 1, {1e-4, true, false});
  EXPECT_TRUE(plain.component_weights.empty());
  EXPECT_TRUE(std::isfinite(ef::head_predict(plain, images[0], 1)));
}
