#pragma once
// `laneface sim`: plans vehicles (body, occupants, documents, ghosts, effects) from a seed,
// renders every camera's video and writes the lane directory of docs/lane-format.md.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/face_library.hpp"
#include "sim/scene.hpp"

namespace laneface::vision {
class FaceEngine;
}

namespace laneface::sim {

struct SimOptions {
  std::filesystem::path faces;        // image folder
  std::filesystem::path labels;       // CSV image,identity[,face]
  std::filesystem::path out;          // lane directory (created; must be empty or absent)
  std::string faces_arg, labels_arg;  // as given on the command line, for lane.json
  int vehicles = 10;
  std::string preset = "realistic";
  std::uint64_t seed = 1;
  int cameras = 4;
  int width = 1280, height = 720;
  double fps = 15;
  int min_frames = 45, max_frames = 60;  // frames per vehicle pass
  int threads = 2;
  bool single_photo = false;      // identities with one photo: the document reuses it
  double ghost_probability = -1;  // per vehicle, 0..1, overriding the preset's (< 0: preset)
  std::string lane = "L1", port = "DEMO", direction = "entry";
  std::string start_time = "2026-11-27T08:00:00Z";  // lane clock zero (whole seconds, UTC)
  bool write_videos = true;                         // false: truth and documents only (tests)
  // Snapshots for a look by eye: the frames at 1/3 and 2/3 of the pass of every camera of the
  // first `snapshot_vehicles` vehicles, as JPEG at most 960 px wide (optionally with the truth
  // boxes drawn: green occupant, red ghost, thin when visible < 0.8).
  std::filesystem::path snapshots;
  int snapshot_vehicles = 3;
  bool snapshot_boxes = false;
};

// Where the simulator gets faces: the cut of a photo (nullptr: unusable) and the document
// portrait of a photo. engine_faces() wires both to a FaceLibrary and a FaceEngine; tests can
// give synthetic ones.
struct FaceSource {
  std::function<const FaceCut*(std::size_t)> cut;
  std::function<cv::Mat(std::size_t)> portrait;
};
FaceSource engine_faces(const FaceLibrary& library, const vision::FaceEngine& engine);

// One planned vehicle: its scene and what the truth/event files say about it.
struct PlannedVehicle {
  std::string id;
  double start_s = 0;
  VehicleScene scene;
  std::vector<std::string> documents;  // document numbers read at the lane
};

struct PlannedDocument {
  std::string number, type, country, name, date_of_birth, citizenship, admitted_until;
  std::string identity;
  std::size_t photo = 0;
};

class Simulator {
 public:
  // Plans the whole lane (sequential and deterministic; faces are detected in parallel).
  // Throws core::Error for bad options or when the labels give no usable identity.
  Simulator(SimOptions options, const FaceLibrary& library, FaceSource faces);

  const std::vector<PlannedVehicle>& vehicles() const { return vehicles_; }
  const std::vector<PlannedDocument>& documents() const { return documents_; }
  const LaneRenderer& renderer() const { return *renderer_; }
  const Preset& preset() const { return preset_; }

  // Renders vehicle i: truth.json content (boxes of every frame and camera). When `writers`
  // is true, also writes the videos into `dir`.
  nlohmann::json render_vehicle(std::size_t i, const std::filesystem::path* dir) const;

  // Writes the lane directory; `progress(done, total)` after each vehicle. Returns the
  // summary printed by `laneface sim`.
  nlohmann::json write(const std::function<void(std::size_t, std::size_t)>& progress = {}) const;

 private:
  SimOptions options_;
  const FaceLibrary& library_;
  FaceSource faces_;
  Preset preset_;
  std::unique_ptr<LaneRenderer> renderer_;
  std::vector<PlannedVehicle> vehicles_;
  std::vector<PlannedDocument> documents_;
  std::size_t failed_photos_ = 0, unusable_identities_ = 0;
};

}  // namespace laneface::sim
