#pragma once
// The LFW view-2 protocol: 10 folds x (300 same + 300 different) pairs from pairs.txt;
// accuracy with the threshold chosen on 9 folds and scored on the 10th; TAR at fixed FAR
// over all 3,000 impostor pairs.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vision/face_engine.hpp"

namespace laneface::eval {

struct LfwPair {
  int fold = 0;
  bool same = false;
  std::string a, b;  // image paths relative to the data folder's lfw/ directory
};

struct LfwPairs {
  int folds = 0;
  int per_fold = 0;
  std::vector<LfwPair> pairs;
};

// Parses pairs.txt. Throws core::Error(kInvalidInput) naming the file and line.
LfwPairs read_lfw_pairs(const std::filesystem::path& pairs_txt);

struct LfwOptions {
  std::filesystem::path data;  // holds pairs.txt and lfw/<name>/<name>_NNNN.jpg
  int threads = 2;
  // Documented fallback when the detector finds no face: first a lower score threshold,
  // then the centre box that LFW's funnelled crops put the face in (fractions of the side).
  float fallback_threshold = 0.3f;
  float centre_box[4] = {0.30f, 0.28f, 0.70f, 0.76f};
  bool quiet = false;
};

// Runs the protocol; returns the report (the JSON that `laneface eval lfw` prints).
nlohmann::json run_lfw(const vision::FaceEngine& engine, const LfwOptions& options);

}  // namespace laneface::eval
