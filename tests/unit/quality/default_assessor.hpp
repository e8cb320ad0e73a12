#pragma once
// The assessor of the repository's config/quality.toml, loaded once, for tests that need no
// models (drawn faces with known landmarks).
#include "quality/assessor.hpp"
#include "support/test_support.hpp"

namespace laneface::test {

inline const quality::Assessor& default_assessor() {
  static const quality::Assessor a(
      quality::QualityConfig::load(source_root() / "config" / "quality.toml"));
  return a;
}

}  // namespace laneface::test
