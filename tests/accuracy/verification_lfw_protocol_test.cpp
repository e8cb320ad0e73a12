// The face engine's accuracy bar on LFW view 2 (grayscale copy): the same protocol and code as
// `laneface eval lfw`. Bars: 10-fold accuracy >= 98.9 %, TAR >= 96.5 % at FAR 1e-3, and every
// image accounted for (a missed face is counted and goes through the documented fallback).
#include <gtest/gtest.h>

#include "eval/lfw.hpp"
#include "support/test_support.hpp"

namespace lt = laneface::test;

TEST(LfwAccuracy, MeetsTheFaceEngineBars) {
  LANEFACE_REQUIRE_MODELS();
  LANEFACE_REQUIRE_DATA("lfw/pairs.txt");
  laneface::vision::EngineOptions options;
  options.manifest = lt::manifest_path();
  const laneface::vision::FaceEngine engine(options);
  laneface::eval::LfwOptions o;
  o.data = *lt::data_root() / "lfw";
  o.threads = 2;
  const auto r = laneface::eval::run_lfw(engine, o);
  std::cout << r.dump() << std::endl;
  EXPECT_EQ(r["pairs"], 6000);
  EXPECT_EQ(r["images"], 7701);
  EXPECT_GE(r["accuracy"].get<double>(), 0.989);
  EXPECT_GE(r["tar_at_far"]["far_1e-3"]["tar"].get<double>(), 0.965);
  EXPECT_GE(r["tar_at_far"]["far_1e-2"]["tar"].get<double>(), 0.975);
  // The detector misses almost nothing on LFW; more than 0.5 % would mean a regression.
  EXPECT_LE(r["failures_to_detect"].get<int>(), 38);
}
