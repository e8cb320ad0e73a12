#pragma once
// The LFW view-2 protocol: 10 folds x (300 same + 300 different) pairs from pairs.txt;
// accuracy with the threshold chosen on 9 folds and scored on the 10th; TAR at fixed FAR
// over all 3,000 impostor pairs.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vision/face_engine.hpp"
#include "vision/fused_recognizer.hpp"

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
  // Experiment: average the landmarks over shifted boxes (0 = off; e.g. 0.04 = 4 % shifts).
  float landmark_jitter = 0;
};

// Runs the protocol; returns the report (the JSON that `laneface eval lfw` prints). With the
// fused recognizer, each test fold's score normalisation is fitted on the other nine folds.
nlohmann::json run_lfw(const vision::FaceEngine& engine, const LfwOptions& options);

// Fits fusion parameters for the recognizers `part_ids` on LFW view 2: z-normalisation of each
// model's impostor scores over all folds, and the fused threshold at FAR 1e-3.
vision::FusionParams calibrate_fusion_lfw(const vision::FaceEngine& engine,
                                          const std::vector<std::string>& part_ids,
                                          const LfwOptions& options);

}  // namespace laneface::eval
