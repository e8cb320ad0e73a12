#pragma once
// From tracks to occupants: vehicle sessions from face presence (when no sensor event cuts
// the stream), tracks joined across cameras into people, and each person's seat row. Pure
// functions over summaries, so they are unit-tested without models.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture/geometry.hpp"
#include "capture/lane_config.hpp"

namespace laneface::capture {

// One observation of a track: the face box centre and width, frame pixels.
struct TrackPoint {
  long frame = 0;
  float x = 0, y = 0, w = 0;
};

// What joining and session splitting need to know of a track.
struct TrackSpan {
  TrackSpan() = default;
  TrackSpan(std::string camera_id, long first_frame, long last_frame,
            std::vector<TrackPoint> track_points = {})
      : camera(std::move(camera_id)),
        first(first_frame),
        last(last_frame),
        points(std::move(track_points)) {}
  std::string camera;
  long first = 0, last = 0;        // frames on the lane clock (inclusive)
  std::vector<TrackPoint> points;  // frame order; empty: no geometry (appearance only)
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

// How tracks become people (join_tracks below; config/lane.toml [lane] join_* keys).
struct JoinOptions {
  double threshold = 0.35;  // mean template similarity to join two groups (any cameras)
  // Groups with no camera in common: mutual best partners above this; >= threshold: off.
  double cross_threshold = 2;
  // Same camera, one track ending before the other starts: joined when each track's path,
  // carried on at its own end velocity for half the gap, meets the other's within this many
  // face widths (and the widths differ by less than 1.5x); 0: off. Applied after the template
  // pass, before the cross-camera pass.
  double motion_tolerance = 0;
  long motion_max_gap = 30;           // frames between the two tracks, at most
  double motion_min_similarity = -1;  // templates less similar than this are never joined so
  // Geometry pass, last: groups with no camera in common whose sightings fit one point fixed
  // in the vehicle (geometry.hpp; the vehicle's speed estimated from all tracks) are joined,
  // mutual best partners first, when the fit's misfit grows by less than this per sighting
  // (chi² with options.geometry's errors) over fitting each group alone; 0: off. Only tracks
  // of cameras in `cameras` take part.
  double geometry_threshold = 0;
  double geometry_min_similarity = -1;  // templates less similar than this never join so
  // Two groups each seen by one camera only join by geometry only when their viewing rays
  // (each group's mean sighting direction, from the calibration) cross at more than this
  // angle, degrees (0-90, the angle between the two lines): along nearly parallel rays the fit
  // is decided by the range from face width alone. 0: off.
  double geometry_min_angle_deg = 0;
  // The angle measured across the direction of travel (the rays' Y-Z components): in the
  // vehicle's frame a camera moves along X, so one camera's rays to a point all lie in a plane
  // through the X direction, and two such groups meet where their planes cross. The two side
  // cameras, at one height on opposite sides, see a seat along nearly one such plane even
  // where their rays cross at 65 degrees. false: the rays' full 3-D angle.
  bool geometry_angle_across_travel = true;
  // Geometric veto on the cross-camera pass: two groups whose sightings' fit as one point fixed
  // in the vehicle grows the misfit by more than this per sighting (as the geometry pass
  // measures it; only tracks of cameras in `cameras`) are not its partners; 0: off.
  double cross_geometry_veto = 0;
  std::map<std::string, CameraPose> cameras;
  GeometryOptions geometry;
};

// Where track `b` would be if it continued track `a` (same camera, `a` ends before `b`
// starts): the distance in face widths between a's path carried forward and b's carried
// back, each at its own end velocity (least squares over up to `fit` points; a track with one
// point takes the other's velocity) to the middle of the gap. nullopt when they are on
// different cameras, overlap in time, have no points or neither has a velocity.
std::optional<double> continuation_error(const TrackSpan& a, const TrackSpan& b,
                                         std::size_t fit = 6);

// One merge made by join_tracks, for diagnostics (`bench lane --trace`): the pass, the two
// groups' tracks and the score that decided it: "template" and "cross_camera" the groups' mean
// similarity, "motion" the continuation error (face widths), "geometry" the growth of the
// misfit per sighting.
struct JoinStep {
  std::string pass;
  std::vector<std::size_t> a, b;
  double score = 0;
};

// `steps` (optional): each merge is appended, in the order made.
std::vector<std::vector<std::size_t>> join_tracks(const std::vector<TrackSpan>& tracks,
                                                  const std::vector<std::vector<float>>& similarity,
                                                  const JoinOptions& options,
                                                  std::vector<JoinStep>* steps = nullptr);

// Each group's position in the vehicle's frame (metres; X forward, Y to the driver's side, Z
// up; X relative to the other groups' only, the vehicle's place being unknown): the point
// that fits its sightings best (geometry.hpp), the vehicle's speed estimated from all tracks.
// nullopt for a group with a track of a camera without a pose, or when the speed is unknown.
std::vector<std::optional<cv::Vec3d>> vehicle_positions(
    const std::vector<TrackSpan>& tracks, const std::vector<std::vector<std::size_t>>& groups,
    const std::map<std::string, CameraPose>& cameras, const GeometryOptions& options);

// Which groups stand still in the world while the vehicle moves: a bystander on the sidewalk
// or between the lanes, a face on a sign. A track is still when its sightings fit one point
// fixed in the world better, by more than `margin` chi² per sighting, than one point fixed in
// the vehicle (the vehicle's speed estimated from all tracks); each track is judged alone, so
// one camera's pose error cannot make a group of several cameras look still. A group is
// flagged when every judged track of it is still and another track of the vehicle moves
// (fits the vehicle better by as much), so a vehicle that stops at the booth keeps its
// occupants. Tracks of a camera without a pose, or with fewer than 3 sightings, are not
// judged; a group with none judged is never flagged.
std::vector<bool> still_groups(const std::vector<TrackSpan>& tracks,
                               const std::vector<std::vector<std::size_t>>& groups,
                               const std::map<std::string, CameraPose>& cameras,
                               const GeometryOptions& options, double margin);

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
  // Position in the vehicle (vehicle_positions), when the cameras are calibrated.
  std::optional<cv::Vec3d> position;
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

// Seats from positions in the vehicle, for occupants that have one (the others as
// estimate_seats): row 1 when within `row1_dx` m of the front-most occupant's X, else the
// cue's row (at least 2); side from Y: row 1 the driver is the front-row occupant furthest
// to the driver's side when Y > 0, rows 2-3 "left" above `middle_y`, "right" below -middle_y,
// else "middle". Rows are written back into `occupants`.
std::vector<std::string> estimate_seats_geometric(std::vector<SeatCue>& occupants,
                                                  double row1_dx = 0.3, double middle_y = 0.1);

}  // namespace laneface::capture
