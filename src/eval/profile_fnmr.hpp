#pragma once
// Evidence for the lane-capture profile's limits (`laneface eval profile-fnmr`): the false
// non-match rate of the recognizer at a fixed threshold (the lane's 1:few vehicle threshold)
// when a probe photo is compared with its identity's frontal reference (the photo that best
// meets the `document` profile, chosen as `eval identify` chooses enrolment portraits),
//   (a) by the probe's |yaw| (natural variation of the photos), and
//   (b) by the probe's inter-eye distance (IED), produced by downscaling each probe so its IED
//       is each target and then detecting, landmarking and embedding it again, as the lane
//       does with a small face.
// Only the calibration half of the identities is used (sorted numeric ids, even rank), as
// `eval edc` fits on it: the other half stays held out.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <vector>

#include "vision/face_engine.hpp"

namespace laneface::eval {

// What the quality config says about a photo's face of interest (supplied by the caller, so
// that eval does not depend on quality). Must be thread-safe.
struct ProfilePhoto {
  bool document = false;      // passes the `document` profile
  int document_failures = 0;  // failed requirements of the `document` profile
  double unified = 0;         // unified quality score, 0..100
  std::optional<double> yaw;  // HeadPoseYaw, degrees (absent: not assessed)
  std::optional<double> ied;  // InterEyeDistance, pixels (absent: not assessed)
};
// cheap = true: only yaw and ied are needed (the downscaled probes).
using ProfileAssessor = std::function<ProfilePhoto(
    const cv::Mat& bgr, std::span<const core::Face> faces, std::size_t index, bool cheap)>;

struct ProfileFnmrOptions {
  std::filesystem::path data;  // labels.csv (image,identity; numeric ids) and its images
  int threads = 2;
  double threshold = 0;  // a comparison is a match when score > threshold
  std::string threshold_source;
  std::vector<double> yaw_edges;     // |yaw| bin edges, degrees (default 0,5,...,60,90)
  std::vector<double> ieds;          // target IEDs, px (default 12,16,...,32)
  int min_face = 20;                 // detection on the original photos
  int small_min_face = 10;           // detection on the downscaled probes
  double ied_max_abs_yaw = 40;       // (b) uses probes within this |yaw| only
  std::size_t limit_identities = 0;  // first N calibration identities only; 0: all
  ProfileAssessor assess;            // required
  bool quiet = false;
};

// Runs the protocol; returns the JSON report (see the header comment). Throws core::Error for
// unreadable data, a non-numeric identity or a missing assessor.
nlohmann::json run_profile_fnmr(const vision::FaceEngine& engine,
                                const ProfileFnmrOptions& options);

// One bin of a FNMR table: probes whose value v satisfies lo <= v < hi.
struct FnmrBin {
  double lo = 0, hi = 0;
  std::size_t probes = 0, non_matches = 0;
  double fnmr() const { return probes ? double(non_matches) / double(probes) : 0.0; }
};
// Bins the probes by value (edges ascending, at least two) and counts scores <= threshold as
// non-matches. Values outside [edges.front(), edges.back()) and NaN are not counted.
// Throws core::Error(kInvalidInput) for fewer than two edges, unsorted edges or unequal sizes.
std::vector<FnmrBin> fnmr_by_bin(std::span<const double> values, std::span<const double> scores,
                                 std::span<const double> edges, double threshold);

// The scale factor that brings a photo whose IED is `ied` to `target` (never above 1: a photo
// is only made smaller). nullopt when ied <= 0 or the target exceeds ied.
std::optional<double> downscale_for_ied(double ied, double target);

}  // namespace laneface::eval
