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
//
// `cross_threshold` (< threshold; disabled when >= threshold): then groups that share no
// camera are also merged when their mean similarity is above it and each is the other's most
// similar such group (a person seen side-on by one camera and frontally by another scores
// lower than two frontal views; mutual best keeps two different people apart).
std::vector<std::vector<std::size_t>> join_tracks(const std::vector<TrackSpan>& tracks,
                                                  const std::vector<std::vector<float>>& similarity,
                                                  double threshold, double cross_threshold = 2);

// The seat row of a face of this width seen by this camera: the first of its rows when
// row_widths is empty or the face is at least row_widths[0] wide, the next when at least
// row_widths[1], and so on.
int estimate_row(const CameraGeometry& camera, double face_width);

// What seat estimation knows of one occupant of a vehicle.
struct SeatCue {
  int row = 1;
  // Mean face centre x (fraction of the frame) in a "front" camera; < 0 when not seen there.
  double front_x = -1;
  double front_centre = 0.5;  // that camera's centre_x
  // Mean face width on the "driver" side cameras and on the "passenger" side cameras (px,
  // 0 when not seen): the near side of the vehicle looks larger.
  double driver_width = 0, passenger_width = 0;
};

// Seat names as the simulator's ground truth: row 1 "driver" | "front_passenger"; rows 2-3
// "left" (driver side) | "middle" | "right". Row 1: the front camera's x (driver on the
// frame's driver side of centre_x; with two front-row faces the one further that way is the
// driver), else the near side. Rows 2-3: the near side when the widths differ by more than
// `side_ratio`, else "middle" (also when a front camera sees the face within `middle_x` of
// centre_x). `driver_right`: the driver appears right of centre_x in the front camera.
std::vector<std::string> estimate_seats(const std::vector<SeatCue>& occupants,
                                        bool driver_right = true, double side_ratio = 1.1,
                                        double middle_x = 0.04);

}  // namespace laneface::capture
