#include "eval/profile_fnmr.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace le = laneface::eval;

TEST(ProfileFnmr, BinsCountNonMatchesAtOrBelowTheThreshold) {
  // |yaw| values and scores; threshold 0.3: score <= 0.3 is a non-match.
  const std::vector<double> yaw{0,  4.9,   5,  9,  12,
                                40, 44.99, 45, -1, std::numeric_limits<double>::quiet_NaN()};
  const std::vector<double> score{0.5, 0.3, 0.1, 0.6, 0.2, 0.9, 0.29, 0.0, 0.0, 0.0};
  const std::vector<double> edges{0, 5, 10, 40, 45};
  const auto bins = le::fnmr_by_bin(yaw, score, edges, 0.3);
  ASSERT_EQ(bins.size(), 4u);
  EXPECT_EQ(bins[0].probes, 2u);       // 0, 4.9
  EXPECT_EQ(bins[0].non_matches, 1u);  // 0.3 is not above the threshold
  EXPECT_DOUBLE_EQ(bins[0].fnmr(), 0.5);
  EXPECT_EQ(bins[1].probes, 2u);  // 5, 9
  EXPECT_EQ(bins[1].non_matches, 1u);
  EXPECT_EQ(bins[2].probes, 1u);  // 12
  EXPECT_EQ(bins[2].non_matches, 1u);
  EXPECT_EQ(bins[3].probes, 2u);  // 40, 44.99; 45, -1 and NaN are outside
  EXPECT_EQ(bins[3].non_matches, 1u);
  EXPECT_DOUBLE_EQ(bins[3].lo, 40);
  EXPECT_DOUBLE_EQ(bins[3].hi, 45);
}

TEST(ProfileFnmr, EmptyBinHasZeroRate) {
  const std::vector<double> v{1}, s{0.9}, edges{0, 2, 4};
  const auto bins = le::fnmr_by_bin(v, s, edges, 0.5);
  EXPECT_EQ(bins[1].probes, 0u);
  EXPECT_DOUBLE_EQ(bins[1].fnmr(), 0.0);
}

TEST(ProfileFnmr, RejectsBadEdgesAndSizes) {
  const std::vector<double> v{1, 2}, s{0.1};
  const std::vector<double> good{0, 5}, one{0}, unsorted{5, 0}, repeated{0, 5, 5};
  EXPECT_THROW(le::fnmr_by_bin(v, s, good, 0.3), laneface::core::Error);
  const std::vector<double> s2{0.1, 0.2};
  EXPECT_THROW(le::fnmr_by_bin(v, s2, one, 0.3), laneface::core::Error);
  EXPECT_THROW(le::fnmr_by_bin(v, s2, unsorted, 0.3), laneface::core::Error);
  EXPECT_THROW(le::fnmr_by_bin(v, s2, repeated, 0.3), laneface::core::Error);
}

TEST(ProfileFnmr, DownscaleOnlyMakesSmaller) {
  EXPECT_DOUBLE_EQ(*le::downscale_for_ied(80, 20), 0.25);
  EXPECT_DOUBLE_EQ(*le::downscale_for_ied(24, 24), 1.0);
  EXPECT_FALSE(le::downscale_for_ied(20, 24));
  EXPECT_FALSE(le::downscale_for_ied(0, 12));
  EXPECT_FALSE(le::downscale_for_ied(std::numeric_limits<double>::quiet_NaN(), 12));
}
