#pragma once
// The seam between the lane pipeline and its callers (`laneface process`, `bench lane`,
// `laneface serve`): one vehicle pass in, occupants with best shots, quality and match
// decisions out, recorded in the store when one is given. See docs/lane-format.md.
//
// This header is the contract; the capture module implements it. Callers depend only on it.
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "capture/lane_config.hpp"
#include "core/types.hpp"
#include "match/calibration.hpp"

namespace laneface::store {
class Store;
}
namespace laneface::vision {
class FaceEngine;
}
namespace laneface::quality {
class Assessor;
}

namespace laneface::capture {

// One camera's frames of one vehicle pass: a video file, an image folder or an RTSP URL.
struct CameraInput {
  std::string camera;  // "windshield", "driver_side", ...
  std::string source;  // path or rtsp:// URL
};

// What the lane reports for a vehicle (event.json) and where its frames are.
struct VehiclePass {
  std::string vehicle;  // id, e.g. "v0001"
  std::string lane;
  std::string port;
  std::string direction = "entry";                     // entry | exit
  std::string time;                                    // ISO 8601 UTC arrival time
  nlohmann::json documents = nlohmann::json::array();  // documents read at the lane
  std::vector<CameraInput> cameras;
};

// Live progress, for the service's server-sent events. Called from the processing thread;
// each payload is the JSON that docs/lane-format.md gives for that part of the result, and
// never holds photo or template bytes.
struct Observer {
  std::function<void(const nlohmann::json&)> vehicle_arrived;
  std::function<void(const nlohmann::json&)> occupant_captured;
  std::function<void(const nlohmann::json&)> decision_ready;
};

class DocumentGallery;  // capture/document_gallery.hpp

// Where an occupant was seen: one detection of one of its tracks (for evaluation and display).
struct Sighting {
  std::string camera;
  long frame = 0;  // frame index in the camera's source (the vehicle's video)
  core::Box box;
};

// Everything process() learns about one vehicle. `json` is the docs/lane-format.md result;
// the rest stays in memory (templates and photos are never written to logs).
struct VehicleResult {
  nlohmann::json json;
  struct Occupant {
    std::vector<Sighting> sightings;
    std::optional<core::Template> probe;   // template of the best shot, when captured
    std::vector<unsigned char> best_jpeg;  // the best shot (captured or not), JPEG
  };
  std::vector<Occupant> occupants;  // parallel to json["occupants"]
  // Faces rejected as ghosts, with their sightings (parallel to json["rejected"]).
  std::vector<std::vector<Sighting>> rejected;
  // Tracks shorter than min_detections (never occupants), with their sightings.
  std::vector<std::vector<Sighting>> dropped;
  // Only with process_detailed(..., join_trace = true), for diagnostics (`bench lane --trace`;
  // never photos or templates): the tracks that took part in the join (long enough, not a ghost
  // by the per-track filters), with their sightings, and `join` = {"tracks": [{"camera", "first",
  // "last", "occupant"}] parallel to them
  // ("occupant": index in occupants, -1 when the group was rejected as a bystander), "steps":
  // [{"pass", "a", "b", "score"}] the join's merges in order (track indices), "similarity":
  // the tracks' template similarities (-1: not comparable)}.
  std::vector<std::vector<Sighting>> joined_tracks;
  nlohmann::json join;
  long frames = 0;        // frames per camera
  double video_s = 0;     // seconds of lane video (frames / fps)
  double wall_ms = 0;     // total processing time
  double analyse_ms = 0;  // detection + tracking over all frames (cameras in parallel)
  double latency_ms = 0;  // after the last frame: joining, best shot, templates, matching, store
};

// The lane pipeline. Thread-safe: process() may run for several vehicles at once (each call
// spreads its own work over config.threads).
class LaneProcessor {
 public:
  // `store` (optional): each vehicle is recorded there (crossing, occupants, match decisions,
  // encounter templates and encrypted best-shot photos; the store needs its key). `gallery`
  // (optional): the documents to match against; without it occupants are captured but not
  // matched (outcome "not_matched", referral). All references must outlive the processor.
  // Throws core::Error(kConfig) when the calibration file cannot be read or is for another
  // model, or when the quality config lacks config.profile.
  LaneProcessor(const vision::FaceEngine& engine, const quality::Assessor& assessor,
                LaneConfig config, store::Store* store = nullptr,
                const DocumentGallery* gallery = nullptr);
  ~LaneProcessor();
  LaneProcessor(const LaneProcessor&) = delete;
  LaneProcessor& operator=(const LaneProcessor&) = delete;

  // One vehicle pass → the per-vehicle JSON of docs/lane-format.md (with "crossing_id" and
  // per occupant "occupant_id" when a store is given). Throws core::Error naming the camera
  // file for a missing, unreadable or corrupt video; an empty vehicle is a result with
  // occupant_count 0.
  nlohmann::json process(const VehiclePass& pass, const Observer& observer = {}) const;
  // join_trace: also fill VehicleResult::joined_tracks and ::join (diagnostics only; the live
  // lane leaves it off).
  VehicleResult process_detailed(const VehiclePass& pass, const Observer& observer = {},
                                 bool join_trace = false) const;

  // Without sensor events: each camera's sources read one after another as one stream
  // (`streams[k]` = camera k's parts, all cameras with the same frame count), split into
  // vehicles by face presence (config.session_gap_s). `lane` carries lane/port/direction;
  // vehicle ids are "s0001", ...; each result's json holds "first_frame"/"last_frame" on the
  // stream clock and sightings' frames are on that clock too.
  std::vector<VehicleResult> process_stream(const VehiclePass& lane,
                                            const std::vector<std::vector<std::string>>& streams,
                                            const Observer& observer = {}) const;

  const LaneConfig& config() const;
  // The operating 1:few match threshold for a vehicle with this many documents.
  double threshold(std::size_t documents) const;
  // Those thresholds for 1 to 7 documents, as JSON {"1": t1, ..., "7": t7}.
  nlohmann::json threshold_table() const;
  // 1:few thresholds (few_threshold(N)) and, through port_threshold(N), the 1:N one
  // (match/calibration.hpp).
  const match::Calibration& calibration() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A lane directory (docs/lane-format.md): lane.json → the vehicles in passing order, each
// with its event.json (documents, time) and camera files. Throws core::Error naming the file:
// kNotFound for a missing lane.json / event.json, kInvalidInput for malformed JSON or an
// unknown format. `with_events` = false: event.json is not read (lane fields from lane.json).
struct LaneDirectory {
  std::filesystem::path dir;
  nlohmann::json lane;  // lane.json
  double fps = 15;
  std::vector<VehiclePass> vehicles;
  std::vector<long> frames;  // per vehicle, from lane.json
};
LaneDirectory read_lane_directory(const std::filesystem::path& dir, bool with_events = true);

}  // namespace laneface::capture
