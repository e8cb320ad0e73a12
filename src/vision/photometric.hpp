#pragma once

// Photometric normalisation of a face crop before it is templated: undoes part of what a
// windshield does to the image (a colour cast, darkening, a reflection's haze) so that the
// recognizer sees a face closer to the photos it was trained on. Geometry is untouched.

#include <opencv2/core.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace laneface::vision {

enum class Normalise {
  kNone,              // the image as captured
  kGrayWorld,         // per-channel gains that make the crop's channel means equal
  kStretch,           // luminance percentiles of the face region to the full range
  kGrayWorldStretch,  // both, gray world first
};

// "none" | "grayworld" | "stretch" | "grayworld+stretch"; core::Error (kConfig) naming the value
// otherwise. Inline: the lane config parser needs it without linking the vision code.
inline Normalise parse_normalise(std::string_view name) {
  if (name == "none") return Normalise::kNone;
  if (name == "grayworld") return Normalise::kGrayWorld;
  if (name == "stretch") return Normalise::kStretch;
  if (name == "grayworld+stretch") return Normalise::kGrayWorldStretch;
  throw core::Error(core::ErrorKind::kConfig,
                    "photometric normalisation \"" + std::string(name) +
                        "\": expects none, grayworld, stretch or grayworld+stretch");
}

inline std::string_view to_string(Normalise mode) {
  switch (mode) {
    case Normalise::kGrayWorld:
      return "grayworld";
    case Normalise::kStretch:
      return "stretch";
    case Normalise::kGrayWorldStretch:
      return "grayworld+stretch";
    case Normalise::kNone:
      break;
  }
  return "none";
}

struct PhotometricOptions {
  // Gray world: each channel's gain is clamped to [1 / max_balance_gain, max_balance_gain]: a
  // windshield's cast is a few tens of percent, a scene that is really coloured should not be
  // made gray.
  double max_balance_gain = 1.25;
  // Stretch: the low / high luminance percentiles of the face region map to 0 / 255, the gain
  // clamped to max_stretch_gain (a nearly flat region is noise, not a face to amplify).
  double low_percentile = 1;
  double high_percentile = 99;
  double max_stretch_gain = 4;
  int min_range = 8;  // a face region whose percentiles are closer than this is left alone
};

// The normalised copy of `bgr` (8-bit, 3 channels). Gray world measures the whole image (a face
// alone is not gray); the stretch measures `face` (clipped to the image) and applies one affine
// map to every pixel and channel (hue kept). An empty image gives an empty one; a face region
// of fewer than 4 pixels, or a nearly flat one, is not stretched. Another pixel type:
// core::Error (kInvalidInput).
cv::Mat normalise_photometric(const cv::Mat& bgr, const cv::Rect& face, Normalise mode,
                              const PhotometricOptions& options = {});

}  // namespace laneface::vision
