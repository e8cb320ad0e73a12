#pragma once
// `laneface bench lane`: every vehicle of a simulated lane processed, and the results scored
// on the ground truth (truth.json) in the vocabulary of ISO/IEC 19795-1 and the CBP/DHS
// anchors (../shared/docs/LANE.md). The scoring functions are pure and unit-tested.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "capture/lane_processor.hpp"

namespace laneface::capture {

class DocumentGallery;

// Who an output occupant is, by the votes of its sightings on the truth boxes.
struct Attribution {
  enum class Kind { kOccupant, kGhost, kNothing };
  Kind kind = Kind::kNothing;
  int id = -1;  // truth occupant or ghost id
};

// Sightings vote for the truth face whose box (same camera and frame) overlaps best (IoU at
// least min_iou); the most voted face wins (kNothing without votes).
Attribution attribute(const std::vector<Sighting>& sightings, const nlohmann::json& truth,
                      double min_iou = 0.3);

// The scored outcome of one truth vehicle, from its output occupants' attributions.
struct ScoredOccupant {
  Attribution who;
  bool captured = false;
};
struct VehicleScore {
  int truth_occupants = 0;
  int captured_occupants = 0;  // truth occupants with a captured output occupant
  int counted = 0;             // output occupants attributed to this vehicle
  int ghosts = 0;              // output occupants that are a ghost or nothing
  int duplicates = 0;          // further output occupants of an already-counted person
  int truth_ghosts = 0;
  int ghosts_accepted = 0;                  // truth ghosts that became an occupant
  int submitted = 0, submitted_passed = 0;  // best shots of non-ghost occupants
  bool all_captured() const { return captured_occupants == truth_occupants; }
  bool count_correct() const { return counted == truth_occupants; }
};
VehicleScore score_vehicle(const nlohmann::json& truth, const std::vector<ScoredOccupant>& out);

// Why each truth occupant of a vehicle was or was not captured, from what the pipeline made of
// its faces. Pure; unit-tested.
struct DiagnosedOccupant {   // one output occupant
  std::map<int, int> votes;  // truth occupant id → sightings on its boxes
  bool captured = false;
  std::vector<std::string> failures;  // profile failures of the best shot
  std::vector<std::string> cameras;
  int row = 0;
  std::string seat;
};
struct VehicleDiagnosis {
  // Per truth occupant (parallel to truth "occupants"): "captured", "failed_profile" (an
  // occupant of its own whose best shot failed the profile), "merged" (its faces went into
  // an occupant attributed to someone else), "rejected_as_ghost" (a ghost filter took its
  // track), "short_track" (tracks shorter than min_detections only), "not_detected".
  std::vector<std::string> cause;
  // Requirement labels (failure text up to the value) of the failed_profile occupants.
  std::vector<std::string> failed_requirements;
  // Output occupants that repeat a person: split across cameras (no camera in common with
  // the person's first occupant) or within a camera.
  int duplicates_cross_camera = 0, duplicates_same_camera = 0;
  // Seat: attributed truth occupants with the right row / the right row and seat.
  int seat_scored = 0, row_correct = 0, seat_correct = 0;
};
VehicleDiagnosis diagnose_vehicle(const nlohmann::json& truth,
                                  const std::vector<DiagnosedOccupant>& out,
                                  const std::vector<std::map<int, int>>& rejected_votes,
                                  const std::vector<std::map<int, int>>& dropped_votes);

// The requirement a profile failure sentence names ("Yaw angle 41° exceeds ±30°" → "Yaw
// angle").
std::string failure_requirement(const std::string& failure);

// One vehicle's line of `bench lane --trace` (docs/lane-format.md "Join trace"): every track
// that took part in the join with the truth faces its sightings fall on (the votes above),
// the occupant it ended in and the join pass that first merged it, the occupants with their
// attribution, the join's steps and similarities, and the diagnosis (causes, duplicates).
// Pure; unit-tested.
nlohmann::json trace_vehicle(const nlohmann::json& truth, const VehicleResult& result);

struct LaneBenchOptions {
  bool events = true;           // false: split the streams by face presence
  std::size_t limit = 0;        // vehicles (0 = all)
  std::filesystem::path trace;  // JSON lines, one per vehicle (trace_vehicle); events only
  std::filesystem::path faces;  // source photos folder (default: lane.json sim.faces)
  int threads = 2;
  std::function<void(const std::string&)> progress;
};

// Processes the lane and scores it. `gallery` holds documents.csv (with identity column).
nlohmann::json run_lane_bench(const LaneProcessor& processor, const DocumentGallery& gallery,
                              const vision::FaceEngine& engine, const LaneDirectory& lane,
                              const LaneBenchOptions& options);

}  // namespace laneface::capture
