#include "eval/verification.hpp"

#include <gtest/gtest.h>

namespace le = laneface::eval;

TEST(Verification, ThresholdAtFarAcceptsAtMostTheAllowedImpostors) {
  std::vector<double> impostor;
  for (int i = 0; i < 1000; ++i) impostor.push_back(i / 1000.0);  // 0.000 .. 0.999
  const double t = le::threshold_at_far(impostor, 1e-2);          // 10 allowed
  EXPECT_DOUBLE_EQ(t, 0.989);
  EXPECT_NEAR(le::accept_rate(impostor, t), 0.010, 1e-12);
  EXPECT_DOUBLE_EQ(le::threshold_at_far(impostor, 0.0), 0.999);
  EXPECT_DOUBLE_EQ(le::accept_rate(impostor, 0.999), 0.0);
}

TEST(Verification, BestThresholdSeparatesSeparableScores) {
  const std::vector<double> genuine{0.8, 0.9, 0.7};
  const std::vector<double> impostor{0.1, 0.3, 0.2};
  const double t = le::best_accuracy_threshold(genuine, impostor);
  EXPECT_GT(t, 0.3);
  EXPECT_LT(t, 0.7);
  EXPECT_DOUBLE_EQ(le::accuracy(genuine, impostor, t), 1.0);
}

TEST(Verification, BestThresholdWithOverlap) {
  // One impostor above two genuines: best is to accept >0.45 (5 of 6 right).
  const std::vector<double> genuine{0.5, 0.6, 0.9};
  const std::vector<double> impostor{0.1, 0.2, 0.55};
  const double t = le::best_accuracy_threshold(genuine, impostor);
  EXPECT_NEAR(le::accuracy(genuine, impostor, t), 5.0 / 6.0, 1e-12);
}

TEST(Verification, KFoldChoosesThresholdOnOtherFolds) {
  std::vector<le::Pair> pairs;
  for (int fold = 0; fold < 10; ++fold) {
    for (int i = 0; i < 10; ++i) {
      pairs.push_back({fold, true, 0.6 + 0.01 * i});
      pairs.push_back({fold, false, 0.1 + 0.01 * i});
    }
  }
  pairs[0].score = 0.0;  // one genuine in fold 0 far below: only fold 0 loses it
  const auto r = le::kfold_accuracy(pairs, 10);
  ASSERT_EQ(r.fold_accuracy.size(), 10u);
  EXPECT_DOUBLE_EQ(r.fold_accuracy[0], 19.0 / 20.0);
  for (int k = 1; k < 10; ++k) EXPECT_DOUBLE_EQ(r.fold_accuracy[k], 1.0);
  EXPECT_NEAR(r.mean, 0.995, 1e-12);
}
