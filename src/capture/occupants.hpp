#pragma once
// From tracks to occupants: vehicle sessions from face presence (when no sensor event cuts
// the stream), tracks joined across cameras into people, and each person's seat row. Pure
// functions over summaries, so they are unit-tested without models.
#include <cstddef>
#include <string>
#include <vector>

#include "capture/lane_config.hpp"

namespace laneface::capture {

// What joining and session splitting need to know of a track.
struct TrackSpan {
  std::string camera;
  long first = 0, last = 0;  // frames on the lane clock (inclusive)
};

// Groups of track indices whose presence intervals (over all cameras) are separated by more
// than `gap` frames: one group per vehicle. Groups in time order; indices ascending.
std::vector<std::vector<std::size_t>> split_sessions(const std::vector<TrackSpan>& tracks,
                                                     long gap);

// Average-linkage clustering of tracks into people: the two groups with the highest mean
// similarity are merged while it is above `threshold`, never putting two tracks of the same
// camera that overlap in time into one person (one camera cannot see one face twice at
// once). `similarity` is n x n (symmetric; entries of pairs that cannot be compared may be
// -1). Groups ordered by their first track; indices ascending.
std::vector<std::vector<std::size_t>> join_tracks(const std::vector<TrackSpan>& tracks,
                                                  const std::vector<std::vector<float>>& similarity,
                                                  double threshold);

// The seat row of a face of this width seen by this camera: the first of its rows when
// row_widths is empty or the face is at least row_widths[0] wide, the next when at least
// row_widths[1], and so on.
int estimate_row(const CameraGeometry& camera, double face_width);

}  // namespace laneface::capture
