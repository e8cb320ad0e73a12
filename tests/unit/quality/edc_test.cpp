// The EDC curve on hand-made comparisons with known answers.
#include "eval/edc.hpp"

#include <gtest/gtest.h>

TEST(Edc, DiscardingLowQualityMissesLowersFnmr) {
  // 10 genuine comparisons at threshold 0.5: the two misses have the lowest quality.
  const std::vector<double> scores{0.1, 0.2, 0.9, 0.8, 0.7, 0.9, 0.6, 0.8, 0.9, 0.7};
  const std::vector<double> quality{1, 2, 50, 60, 70, 80, 90, 55, 65, 75};
  const std::vector<double> fractions{0, 0.1, 0.2, 0.5};
  const auto c = laneface::eval::edc_curve(scores, quality, 0.5, fractions);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_DOUBLE_EQ(c[0], 0.2);
  EXPECT_DOUBLE_EQ(c[1], 1.0 / 9);
  EXPECT_DOUBLE_EQ(c[2], 0.0);
  EXPECT_DOUBLE_EQ(c[3], 0.0);
  // Quality that says nothing (the misses rated best): discarding does not help.
  const std::vector<double> inverted{100, 99, 50, 60, 70, 80, 90, 55, 65, 75};
  const auto d = laneface::eval::edc_curve(scores, inverted, 0.5, fractions);
  EXPECT_DOUBLE_EQ(d[2], 2.0 / 8);
  EXPECT_THROW(laneface::eval::edc_curve(scores, fractions, 0.5, fractions), std::exception);
}
