#pragma once
// Shared helpers for tests: where the models, demo samples and datasets are, and skips with
// a clear message when they are absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "vision/face_engine.hpp"

namespace laneface::test {

std::filesystem::path source_root();
std::filesystem::path manifest_path();
// True when every model file named in the manifest is present.
bool models_present();
// $LANEFACE_DATA, or nullopt.
std::optional<std::filesystem::path> data_root();
// One face engine per test process and recognizer id, built on first use (loading models is
// the slow part of a model test).
const vision::FaceEngine& shared_engine(const std::string& recognizer = "fr_feature");
// var/samples/sampleN.jpg fetched by scripts/setup (the @vladmandic/face-api demo photos).
std::filesystem::path sample_image(int n);

}  // namespace laneface::test

#define LANEFACE_REQUIRE_MODELS()                                                            \
  do {                                                                                       \
    if (!::laneface::test::models_present())                                                 \
      GTEST_SKIP() << "models are not installed: run scripts/setup (skipping, not failing)"; \
  } while (0)

#define LANEFACE_REQUIRE_DATA(sub)                                                \
  do {                                                                            \
    const auto root_ = ::laneface::test::data_root();                             \
    if (!root_ || !std::filesystem::exists(*root_ / (sub)))                       \
      GTEST_SKIP() << "dataset '" << (sub)                                        \
                   << "' not found: set LANEFACE_DATA to the shared data folder"; \
  } while (0)
