#pragma once
// The one way outside images enter laneface: size and header checks before decoding, so a
// lying header or a decompression bomb is an error that names the file, never a crash.
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>

namespace laneface::core {

struct ImageLimits {
  std::uintmax_t max_file_bytes = 64ull << 20;  // 64 MiB
  std::uint64_t max_pixels = 50'000'000;        // 50 MP: above 8K UHD
  int max_side = 20'000;
};

struct ImageHeader {
  std::string format;  // "jpeg", "png", "bmp", "pnm", "webp", "tiff"
  int width = 0;
  int height = 0;
};

// Reads width and height from the header without decoding pixels.
// Throws Error(kInvalidInput) naming `name` when the format is unknown or the header is cut.
ImageHeader probe_image_header(std::span<const std::uint8_t> bytes, const std::string& name);

// Decodes to 8-bit BGR (grayscale input is replicated to three channels).
// Throws Error(kInvalidInput) naming `name` for an empty, truncated, oversize or corrupt image.
cv::Mat decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                     const ImageLimits& limits = {});

// Reads and decodes a file. Throws Error(kNotFound) when missing, Error(kInvalidInput) for a
// directory, a non-image or a broken image; every message names the path.
cv::Mat read_image(const std::filesystem::path& path, const ImageLimits& limits = {});

// Writes an image; the format follows the extension. Throws Error(kIo) naming the path.
void write_image(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace laneface::core
