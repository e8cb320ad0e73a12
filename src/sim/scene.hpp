#pragma once
// The simulated lane in 3-D: pinhole cameras beside and ahead of the lane, a vehicle body with
// windows and seats, occupants whose heads are real face photos, and ghosts (a face poster on
// the body, a phone screen showing a face, a bystander on the sidewalk). World coordinates in
// metres: X along the direction of travel, Y to the driver's side (left), Z up, the ground at
// Z = 0. Vehicle coordinates: x forward from the front bumper (so x <= 0 inside the car), y
// left from the centre line, z up from the ground.
#include <array>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "sim/face_library.hpp"
#include "sim/random.hpp"

namespace laneface::sim {

// The ranges a preset draws each vehicle's conditions from (docs/sim.md).
struct Preset {
  std::string name;
  Range speed_mps;           // vehicle speed through the capture zone
  Range light;               // scene light level, 1 = bright day
  double night_probability;  // night with an infrared illuminator: grey, darker, noisier
  Range tint_front;          // light transmission of the windshield and front side windows
  Range tint_rear;           // light transmission of the rear (privacy) windows
  Range reflection;          // opacity of sky/building reflections on the glass
  double glare_probability;  // a glare spot on one window
  Range glare;               // its peak added brightness (0..1 of full scale)
  Range blur_px;             // motion blur length along the travel direction, pixels
  Range noise_sd;            // sensor noise, 8-bit levels
  Range jpeg_quality;        // MJPG quality of the written video
  double visor_probability;  // a sun visor down in front of the driver/front passenger
  double hand_probability;   // per occupant: a hand at the face for part of the pass
  double turn_probability;   // per occupant: looks away (a side-on photo) for part of the pass
  double max_live_yaw;       // live photos are drawn from photos at most this side-on (yaw proxy)
  double rear_darkness;      // extra darkening per row behind the first (0.1 = 10 % per row)
  double ghost_probability;  // per vehicle: a poster, a phone screen or a bystander
  double not_enrolled;       // per identity: absent from documents.csv
};

// easy | realistic | hard. Throws core::Error(kInvalidInput) for another name.
Preset preset(const std::string& name);

struct Camera {
  std::string id;
  cv::Vec3d pos;
  cv::Matx33d rot;  // world → camera: x right, y down, z forward
  double focal = 1000;
  cv::Size size;

  // Camera looking from `pos` at `target` with focal length `focal` pixels.
  static Camera look_at(std::string id, cv::Vec3d pos, cv::Vec3d target, double focal,
                        cv::Size size);
  cv::Vec3d to_camera(const cv::Vec3d& world) const { return rot * (world - pos); }
  cv::Point2d project_camera(const cv::Vec3d& c) const {
    return {focal * c[0] / c[2] + size.width / 2.0, focal * c[1] / c[2] + size.height / 2.0};
  }
};

// The default lane cameras: windshield (ahead, looking back at the front row), driver_side
// and passenger_side (ahead of the side windows, looking back at about 25°), rear_side
// (driver side, higher, aimed at rows 2 and 3). `count` 1..4 takes the first ones.
std::vector<Camera> lane_cameras(int count, cv::Size size, Rng& rng);

enum class BodyKind { kSedan, kSuv, kVan };

struct Body {
  BodyKind kind = BodyKind::kSedan;
  double length = 4.7, width = 1.8, belt = 0.95, roof = 1.45;
  double ws_base_x = -1.35, ws_top_x = -2.0;     // windshield bottom and top edge (x)
  double rear_top_x = -3.9, rear_base_x = -4.3;  // rear glass top and bottom edge (x)
  std::vector<double> pillars;                   // x of the pillars between side windows
  int rows = 2;
  cv::Scalar paint{120, 120, 120};
  cv::Scalar interior{30, 30, 32};
};

// One photo an occupant shows from frame `from` on (head turning = another photo).
struct ShownPhoto {
  int from = 0;
  std::size_t photo = 0;  // index in the FaceLibrary
  const FaceCut* cut = nullptr;
};

struct Occupant {
  int id = 0;
  std::string identity;
  int row = 1;           // 1..3
  std::string seat;      // driver, front_passenger, left, middle, right
  cv::Vec3d head;        // face centre, vehicle coordinates
  double face_m = 0.16;  // face box width, metres (children smaller)
  double gain = 1;       // brightness of the face (rows further back darker)
  std::vector<ShownPhoto> photos;
  cv::Scalar clothing;
  int hand_from = -1, hand_to = -1;  // frames with a hand at the face
  cv::Point2f hand_offset;           // hand centre relative to the face box, in face widths
  double sway_phase = 0, sway_m = 0.01;
};

struct Ghost {
  int id = 0;
  std::string kind;  // poster | screen | bystander
  std::string identity;
  std::size_t photo = 0;
  const FaceCut* cut = nullptr;
  int side = 1;         // poster/screen: +1 driver side, -1 passenger side
  cv::Vec3d where;      // poster: panel centre (vehicle); screen: centre (vehicle); bystander:
                        // face centre (world)
  double size_m = 0.5;  // poster/screen: width of the picture, metres; bystander: face width
  cv::Vec3d facing{0, 1, 0};  // bystander: the direction the face looks (world)
  bool near = false;          // bystander between the camera and the vehicle (a vendor)
};

struct Effects {
  double light = 1;
  bool night = false;
  double tint_front = 0.8, tint_rear = 0.6;
  cv::Scalar tint_colour{1.0, 1.0, 1.0};  // per-channel multiplier (B, G, R) of the glass
  double reflection = 0.1;
  bool glare = false;
  double glare_strength = 0, glare_u = 0.5, glare_v = 0.3, glare_radius_m = 0.25;
  double blur_px = 0;
  double noise_sd = 2;
  int jpeg_quality = 90;
  bool visor = false;
  double visor_drop_m = 0.12;
};

struct VehicleScene {
  Body body;
  std::vector<Occupant> occupants;
  std::vector<Ghost> ghosts;
  Effects fx;
  int frames = 60;
  double fps = 15;
  double speed = 2;        // m/s
  double front_x0 = 0;     // world X of the front bumper at frame 0
  double lane_offset = 0;  // world Y of the vehicle's centre line
  std::uint64_t seed = 0;  // noise and per-frame jitter

  // Vehicle → world at a frame.
  cv::Vec3d world(const cv::Vec3d& v, int frame) const {
    return {front_x0 + speed * frame / fps + v[0], lane_offset + v[1], v[2]};
  }
};

// One face drawn into a frame (occupant or ghost).
struct DrawnFace {
  bool ghost = false;
  int id = 0;
  core::Box box;       // the face box as the detector would box it, frame pixels
  double visible = 0;  // fraction of the box's face area not covered (occluders, frame edge)
  std::size_t photo = 0;
};

struct RenderedFrame {
  cv::Mat bgr;                   // 8-bit BGR
  cv::Mat label;                 // CV_16U: 0 nothing, 1 + occupant id, 1000 + ghost id
  std::vector<DrawnFace> faces;  // faces with visible > 0
};

// Static per camera: the background (road, curbs, buildings, canopy pillars, sky) and the
// reflection texture for its glass.
class LaneRenderer {
 public:
  LaneRenderer(std::vector<Camera> cameras, std::uint64_t seed);
  const std::vector<Camera>& cameras() const { return cameras_; }

  // Renders frame `frame` of camera `camera`. `noise` holds a few pre-drawn CV_16SC3 noise
  // frames for this vehicle (may be empty: no noise). Thread-safe (const).
  RenderedFrame render(const VehicleScene& scene, std::size_t camera, int frame,
                       const std::vector<cv::Mat>& noise) const;

 private:
  std::vector<Camera> cameras_;
  std::vector<cv::Mat> background_;  // 8UC3
  std::vector<cv::Mat> reflection_;  // 8UC3
};

// A few sensor-noise frames (CV_16SC3) for a vehicle, drawn once and picked per frame by
// render(); empty when the scene's noise is negligible.
std::vector<cv::Mat> noise_frames(const VehicleScene& scene, cv::Size size);

// Label value of a drawn face in RenderedFrame::label.
inline int occupant_label(int id) { return 1 + id; }
inline int ghost_label(int id) { return 1000 + id; }

}  // namespace laneface::sim
