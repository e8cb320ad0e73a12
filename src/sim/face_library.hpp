#pragma once
// The photos the simulator composites: an image folder plus a labels CSV (`image,identity`,
// paths relative to the folder, as in celeba-dev; an optional `face` column picks the k-th
// face from the left in a group photo). Faces are found with the FaceEngine, on first use,
// and kept as a chip (the face with a margin, scaled to a fixed face width).
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace laneface::vision {
class FaceEngine;
}

namespace laneface::sim {

struct Photo {
  std::string image;     // path relative to the faces folder, as written in the labels
  std::string identity;  // label
  int face = -1;         // k-th face from the left; -1: the face of interest
  std::size_t line = 0;  // line in the labels CSV
};

// A face ready to composite: chip pixels and the detector's box in chip coordinates.
struct FaceCut {
  cv::Mat chip;             // 8-bit BGR
  core::Box box;            // face box (as the detector boxes it) in chip pixels
  core::Landmarks5 points;  // in chip pixels
  float yaw = 0;            // nose offset from the eye midpoint / eye distance (0 = frontal)
  cv::Mat mask;             // 8-bit soft head mask (face, hair), same size as chip
  float fill = 1;           // fraction of the face box where mask > 127
};

// The soft elliptical head mask for a chip with this face box; `fill` receives the fraction
// of the box it covers (> 127).
cv::Mat head_mask(cv::Size chip, const core::Box& box, float* fill);

struct Identity {
  std::string id;
  std::vector<std::size_t> photos;  // indices into FaceLibrary::photos()
};

class FaceLibrary {
 public:
  static constexpr int kChipFaceWidth = 160;  // face box width in a chip, pixels

  // Reads the labels. Throws core::Error naming the file for a missing/unreadable CSV or a
  // missing `image`/`identity` column. Rows naming a missing file are skipped and counted;
  // identities with fewer than `min_photos` photos are left out and counted.
  FaceLibrary(std::filesystem::path faces, const std::filesystem::path& labels, int min_photos);

  const std::vector<Photo>& photos() const { return photos_; }
  const std::vector<Identity>& identities() const { return identities_; }
  std::size_t skipped_rows() const { return skipped_rows_; }
  std::size_t skipped_identities() const { return skipped_identities_; }
  const std::filesystem::path& folder() const { return faces_; }

  // The face of photo i (detected once, thread-safe); nullptr when the image cannot be read or
  // holds no face (the caller counts these and picks another photo).
  const FaceCut* cut(std::size_t i, const vision::FaceEngine& engine) const;

  // A document-style portrait of photo i: the face centred with ICAO-like margins, 3:4, from
  // the source photo. Requires cut(i) to have succeeded.
  cv::Mat portrait(std::size_t i, const vision::FaceEngine& engine) const;

 private:
  struct Slot {
    std::once_flag once;
    std::optional<FaceCut> cut;
    std::optional<core::Box> source_box;
  };
  void detect(std::size_t i, const vision::FaceEngine& engine) const;

  std::filesystem::path faces_;
  std::vector<Photo> photos_;
  std::vector<Identity> identities_;
  std::size_t skipped_rows_ = 0, skipped_identities_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace laneface::sim
