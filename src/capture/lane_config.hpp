#pragma once
// The lane pipeline's settings (config/lane.toml): detection stride and sizes, tracking,
// cross-camera joining, best-shot selection, ghost filters, matching and per-camera geometry.
// Every field has a default that `laneface bench lane` measured; the file overrides them.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core/types.hpp>
#include <string>
#include <vector>

#include "vision/photometric.hpp"

namespace laneface::capture {

// Geometry of one camera, in fractions of the frame (x, y, width, height in 0..1).
struct CameraGeometry {
  cv::Rect2f roi{0, 0, 1, 1};         // only this part of the frame is searched for faces
  std::vector<cv::Rect2f> windows;    // vehicle window regions; empty = no window check
  std::vector<int> rows = {1, 2, 3};  // seat rows this camera can see
  int min_face = 0;                   // smallest face width (px); 0 = the lane's min_face
  // > 0: instead of the detector's full pyramid, the roi is covered by tiles seen at this
  // scale (source px per model input px; 320x240 input): one level, no re-detection. The
  // smallest face found is about 16 x detect_scale px; tiles overlap by `tile_overlap` px.
  double detect_scale = 0;
  int tile_overlap = 160;
  // Face widths (px) at which the estimated row changes: width >= row_widths[0] → the
  // camera's first row, >= row_widths[1] → its second, else its last.
  std::vector<double> row_widths;
  // Seats: which side of the vehicle the camera looks at ("driver", "passenger") or "front"
  // (through the windshield; `centre_x`: the frame x fraction between the driver and the
  // front passenger). Empty: the camera gives no seat evidence.
  std::string side;
  double centre_x = 0.5;
  // Calibration (capture/geometry.hpp), world metres (docs/sim.md "The scene"): the camera's
  // position, a point it looks at, and its focal length in px for frames `focal_width` px
  // wide (scaled to the actual width). focal 0: not calibrated (no geometric joining).
  cv::Vec3d position{0, 0, 0}, target{0, 0, 0};
  double focal = 0;
  int focal_width = 1280;
};

struct LaneConfig {
  // Work
  int threads = 2;             // cameras (and best-shot candidates) in parallel
  int detect_stride = 2;       // detect on every n-th frame; tracks carry across
  int min_face = 32;           // px
  float score_threshold = -1;  // < 0: the manifest's detector threshold
  // Tracking (per camera)
  float track_iou = 0.15f;          // predicted box vs detection
  float track_appearance = 0.3f;    // weight of the colour-histogram similarity
  int track_max_gap = 8;            // frames a track survives without a detection
  bool track_motion_prior = false;  // a track seen once moves with the camera's other tracks
  int track_single_gap = 2;  // frames a track seen once may wait for its next detection; 0: max
  int min_detections = 3;    // shorter tracks are noise (and never occupants)
  // Best shot
  std::string profile = "lane-capture";
  int candidates_per_track = 3;  // detections kept per track (ranked by the cheap score)
  int full_candidates = 6;       // per occupant: full assessment (+ template) on this many
  // The cheap gate judges each detection's crop (the image the full assessment sees and that is
  // submitted) rather than the frame: the landmark head pose depends on the image it is fitted
  // in, so a face off the frame's centre got another yaw in the frame than in its crop.
  bool cheap_on_crop = true;
  // Among an occupant's passing candidates the submitted one has the highest unified quality
  // score (empty) or the highest component of this measure (e.g. "TemplateNorm").
  std::string best_shot_measure;
  // The probe submitted for matching: the templates of the occupant's best `probe_shots`
  // passing candidates (in best-shot order) fused into one (vision::Recognizer::fuse); 1: the
  // best shot's template alone. A candidate joins only when its template scores at least
  // `probe_min_similarity` against the best shot's (a guard against another person's track;
  // fr_feature cosine, as join_threshold; -1: all join).
  int probe_shots = 3;
  double probe_min_similarity = -1;
  // Photometric normalisation of each crop before it is templated (join and probe templates;
  // vision/photometric.hpp): none | grayworld | stretch | grayworld+stretch.
  vision::Normalise template_normalise = vision::Normalise::kStretch;
  // Joining tracks across cameras into occupants
  double join_threshold = 0.35;  // template similarity to call two tracks the same person
  // Groups with no camera in common: mutual best partners above this are one person too
  // (occupants.hpp join_tracks); >= join_threshold disables it.
  double join_cross_threshold = 2;
  // One camera's track broken in two: joined when one part's path continues into the other's
  // within this many face widths (occupants.hpp JoinOptions); 0: off.
  double join_motion_tolerance = 1.0;
  int join_motion_max_gap = 30;            // frames between the parts, at most
  double join_motion_min_similarity = -1;  // templates below this are never joined by motion
  // Last, groups with no camera in common whose sightings fit one point fixed in the vehicle
  // (calibrated cameras only) join when the misfit per sighting grows by less than this
  // (occupants.hpp JoinOptions::geometry_threshold); 0: off.
  double join_geometry_threshold = 8;
  double join_geometry_min_similarity = -1;  // templates below this are never joined so
  // Two groups each seen by one camera only join by geometry only when their viewing rays
  // cross at more than this angle, degrees (occupants.hpp JoinOptions::geometry_min_angle_deg),
  // measured across the direction of travel (false: in 3-D); 0: off.
  double join_geometry_min_angle_deg = 25;
  bool join_geometry_angle_across_travel = true;
  // Cross-camera joins are vetoed when the two groups' sightings fit one point in the vehicle
  // worse than each alone by more than this chi² per sighting (needs the cameras' calibration;
  // occupants.hpp JoinOptions::cross_geometry_veto); 0: off.
  double join_cross_geometry_veto = 12;
  double geometry_face_m = 0.16;      // face (detector box) width prior, metres
  double geometry_sigma_px = 6;       // sighting error across the ray, px
  double geometry_sigma_range = 0.1;  // relative error of the range from face width
  // Seats from each occupant's position in the vehicle (calibrated cameras; occupants.hpp
  // estimate_seats_geometric) instead of face widths and frame positions.
  bool seat_geometry = false;
  // Ghosts
  bool ghost_windows = true;      // a face outside every window region is not an occupant
  bool ghost_motion = true;       // a face that does not move with the vehicle is not one
  double motion_tolerance = 0.5;  // |track velocity - vehicle velocity| / face width per s
  // A person whose sightings fit a point fixed in the world far better than one fixed in the
  // moving vehicle (occupants.hpp still_groups; needs calibrated cameras) is not one.
  bool ghost_geometry = true;
  double ghost_geometry_margin = 20;  // chi² per sighting
  bool ghost_static = true;           // a face that never changes (a printed photo) is not one
  double static_similarity = 0.985;   // chip correlation above which two looks are "the same"
  bool liveness = false;              // run the manifest's liveness model (role "liveness")
  double liveness_threshold = 0.5;
  // Sessions without sensor events: a gap of this long without faces ends a vehicle.
  double session_gap_s = 0.6;
  // Matching: a calibration file (match/calibration.hpp); empty = the recognizer's
  // compare_threshold from the manifest (FAR 1e-3 on LFW view 2).
  std::filesystem::path calibration;
  // The 1:few (vehicle gallery) threshold at this FMR on the calibration's impostor curve;
  // 0 = the calibration file's own target (1e-4). The port gallery keeps its 1:N threshold.
  double vehicle_target_fmr = 0;
  // Instead, the 1:few threshold of each vehicle from its document count N: the curve at FMR
  // 1 - (1 - vehicle_target_fpir)^(1/N), so that a non-enrolled occupant is falsely matched
  // with this probability whatever the vehicle's size (match::Calibration::few_threshold);
  // 0 = off (vehicle_target_fmr).
  double vehicle_target_fpir = 0;
  // Per camera id.
  std::map<std::string, CameraGeometry> cameras;

  const CameraGeometry& camera(const std::string& id) const;

  // Reads the [lane] table. Throws core::Error: kNotFound for a missing file, kConfig naming
  // the file and key for a bad value. Relative paths are taken from the file's folder.
  static LaneConfig load(const std::filesystem::path& path);
};

// A lane.json's per-camera "calibration" blocks (docs/lane-format.md) override the config's
// camera calibration: {"position": [x, y, z], "target": [x, y, z], "focal": px, "width": px}.
// Cameras without one keep the config's. Throws core::Error(kInvalidInput) naming `where` and
// the camera for a malformed block.
void apply_lane_calibration(LaneConfig& config, const nlohmann::json& lane_json,
                            const std::string& where);

// $LANEFACE_LANE_CONFIG, else the source tree's config/lane.toml.
std::filesystem::path default_lane_config_path();

}  // namespace laneface::capture
