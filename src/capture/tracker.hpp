#pragma once
// Per-camera face tracking: detections of successive (possibly strided) frames are linked
// into tracks by the overlap of each track's predicted box with the detection (constant
// velocity) plus, when given, the similarity of a small colour histogram of the face.
// Pure geometry: no models, no images; deterministic.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace laneface::capture {

// One detection as the tracker sees it.
struct Detection {
  core::Box box;
  float score = 0;
  std::vector<float> appearance;  // L1-normalised histogram, or empty
  int payload = -1;               // the caller's index (e.g. into its candidate store)
};

struct Observation {
  long frame = 0;
  core::Box box;
  float score = 0;
  int payload = -1;
};

struct Track {
  int id = 0;
  std::string camera;
  std::vector<Observation> observations;  // frame order
  std::vector<float> appearance;          // running mean histogram

  long first_frame() const { return observations.front().frame; }
  long last_frame() const { return observations.back().frame; }
  // Box centre velocity, px per frame, fitted over the observations (0 for one observation).
  cv::Point2f velocity() const;
  float mean_width() const;
};

struct TrackerOptions {
  float min_iou = 0.15f;           // predicted box vs detection, below: no link (unless close)
  float appearance_weight = 0.3f;  // added to the IoU score: weight x histogram intersection
  int max_gap = 8;                 // frames without detection before a track ends
  // A track seen once has no velocity of its own: predict it moving with the camera's other
  // tracks (their median velocity in face widths per frame, times its width) instead of
  // standing still. Without it, in a side camera where the vehicle's faces pass one after
  // another along the same path, a face missed for a few frames is replaced by the next
  // person arriving where it was, and one track strings several people together.
  bool motion_prior = false;
  // A track seen once links a detection at most this many frames later (its motion is
  // unknown, so after a longer gap the face at its place may be the next person); 0: max_gap.
  int single_max_gap = 0;
};

class Tracker {
 public:
  explicit Tracker(std::string camera, TrackerOptions options = {});
  // Adds the detections of one frame (frames in increasing order).
  void update(long frame, const std::vector<Detection>& detections);
  // All tracks, ended and active, by id. Returns the finished list and resets.
  std::vector<Track> finish();
  const std::vector<Track>& tracks() const { return tracks_; }

 private:
  core::Box predict(const Track& t, long frame, const cv::Point2f* prior) const;
  std::string camera_;
  TrackerOptions options_;
  std::vector<Track> tracks_;
  std::vector<std::size_t> active_;
  int next_id_ = 0;
};

// Histogram intersection of two L1-normalised histograms (1 = identical; 0 if either is empty).
float histogram_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace laneface::capture
