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

// Impostor scores for match calibration (`laneface calibrate threshold`): every pair of LFW
// view-2 images of different people (all of them, no sampling: about 29.6 million pairs of
// the 7,701 images), scored by the engine's recognizer; for the fused recognizer also by
// each part, from the same templates.
struct LfwImpostors {
  std::vector<std::string> models;          // the recognizer's id; fused: then each part's
  std::vector<std::vector<double>> scores;  // per model, one score per impostor pair
  std::size_t images = 0;
  std::size_t identities = 0;
  int failures_to_detect = 0;  // images templated from a fallback face box
  double embed_seconds = 0;
  // A direct check of 1:N rates: per model and gallery size N (max_of_n_sizes), each image
  // searched in N images of N distinct other people drawn at random (fixed seed): the best
  // score of each search, one per image.
  std::vector<std::size_t> max_of_n_sizes;
  std::vector<std::vector<std::vector<double>>> max_of_n;  // [model][size][image]
};

LfwImpostors lfw_impostor_scores(const vision::FaceEngine& engine, const LfwOptions& options,
                                 const std::vector<std::size_t>& max_of_n_sizes = {},
                                 unsigned seed = 1);

}  // namespace laneface::eval
