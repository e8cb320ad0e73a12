#include "core/image_io.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "core/error.hpp"

namespace laneface::core {
namespace {

[[noreturn]] void invalid(const std::string& name, const std::string& problem) {
  throw Error(ErrorKind::kInvalidInput, name + ": " + problem);
}

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
std::int32_t le32(const std::uint8_t* p) {
  return static_cast<std::int32_t>(std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) |
                                   (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24));
}

bool starts_with(std::span<const std::uint8_t> b, std::initializer_list<std::uint8_t> magic) {
  return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
}

bool is_sof(std::uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Walks the JPEG marker segments up to the frame header. Also checks that the entropy-coded
// data after the first scan ends with an EOI marker: libjpeg would otherwise "decode" a
// truncated file into a half-grey picture without an error.
ImageHeader probe_jpeg(std::span<const std::uint8_t> b, const std::string& name) {
  ImageHeader h{"jpeg", 0, 0};
  std::size_t i = 2;
  while (true) {
    while (i < b.size() && b[i] != 0xFF) ++i;  // tolerate junk between segments
    while (i < b.size() && b[i] == 0xFF) ++i;  // fill bytes
    if (i >= b.size()) invalid(name, "truncated JPEG: no image data after the headers");
    const std::uint8_t marker = b[i++];
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9) invalid(name, "JPEG ends before its image data");
    if (i + 2 > b.size()) invalid(name, "truncated JPEG header");
    const std::size_t len = be16(&b[i]);
    if (len < 2 || i + len > b.size()) invalid(name, "truncated JPEG header segment");
    if (is_sof(marker)) {
      if (len < 7) invalid(name, "JPEG frame header too short");
      h.height = static_cast<int>(be16(&b[i + 3]));
      h.width = static_cast<int>(be16(&b[i + 5]));
    }
    if (marker == 0xDA) {  // start of scan: the rest is entropy-coded data
      if (h.width == 0) invalid(name, "JPEG scan before any frame header");
      const std::size_t data_start = i + len;
      bool has_eoi = false;
      for (std::size_t k = b.size() - 1; k > data_start; --k) {
        if (b[k - 1] == 0xFF && b[k] == 0xD9) {
          has_eoi = true;
          break;
        }
      }
      if (!has_eoi) invalid(name, "truncated JPEG: the image data has no end marker");
      return h;
    }
    i += len;
  }
}

ImageHeader probe_png(std::span<const std::uint8_t> b, const std::string& name) {
  if (b.size() < 33 || std::memcmp(&b[12], "IHDR", 4) != 0)
    invalid(name, "PNG without a header chunk");
  ImageHeader h{"png", static_cast<int>(std::min<std::uint32_t>(be32(&b[16]), 1u << 30)),
                static_cast<int>(std::min<std::uint32_t>(be32(&b[20]), 1u << 30))};
  static constexpr char kEnd[] = "IEND";
  const auto tail = b.subspan(b.size() - std::min<std::size_t>(b.size(), 64));
  if (std::search(tail.begin(), tail.end(), kEnd, kEnd + 4) == tail.end()) {
    invalid(name, "truncated PNG: no IEND chunk at the end");
  }
  return h;
}

ImageHeader probe_bmp(std::span<const std::uint8_t> b, const std::string& name) {
  if (b.size() < 26) invalid(name, "truncated BMP header");
  const std::int32_t w = le32(&b[18]);
  const std::int32_t hgt = le32(&b[22]);
  if (w <= 0 || hgt == 0 || hgt == INT32_MIN) invalid(name, "BMP header with an impossible size");
  return {"bmp", w, hgt < 0 ? -hgt : hgt};
}

ImageHeader probe_pnm(std::span<const std::uint8_t> b, const std::string& name) {
  std::size_t i = 2;
  auto next_int = [&]() -> long {
    while (i < b.size()) {
      if (b[i] == '#') {
        while (i < b.size() && b[i] != '\n') ++i;
      } else if (std::isspace(b[i])) {
        ++i;
      } else {
        break;
      }
    }
    long v = 0;
    std::size_t digits = 0;
    while (i < b.size() && std::isdigit(b[i]) && digits < 9) v = v * 10 + (b[i++] - '0'), ++digits;
    if (digits == 0) invalid(name, "PNM header without a size");
    return v;
  };
  const long w = next_int();
  const long hgt = next_int();
  return {"pnm", static_cast<int>(w), static_cast<int>(hgt)};
}

}  // namespace

ImageHeader probe_image_header(std::span<const std::uint8_t> b, const std::string& name) {
  if (b.empty()) invalid(name, "empty file, not an image");
  if (starts_with(b, {0xFF, 0xD8, 0xFF})) return probe_jpeg(b, name);
  if (starts_with(b, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return probe_png(b, name);
  if (starts_with(b, {'B', 'M'})) return probe_bmp(b, name);
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return probe_pnm(b, name);
  invalid(name, "not a supported image (expected JPEG, PNG, BMP or PNM)");
}

cv::Mat decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                     const ImageLimits& limits) {
  if (bytes.size() > limits.max_file_bytes) {
    invalid(name, "image of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                      std::to_string(limits.max_file_bytes));
  }
  const ImageHeader h = probe_image_header(bytes, name);
  if (h.width <= 0 || h.height <= 0) invalid(name, h.format + " header with a zero size");
  const std::uint64_t pixels = std::uint64_t(h.width) * std::uint64_t(h.height);
  if (h.width > limits.max_side || h.height > limits.max_side || pixels > limits.max_pixels) {
    invalid(name, h.format + " header claims " + std::to_string(h.width) + "x" +
                      std::to_string(h.height) + " pixels, over the limit of " +
                      std::to_string(limits.max_pixels) + " pixels / " +
                      std::to_string(limits.max_side) + " per side");
  }
  cv::Mat image;
  try {
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1,
                      const_cast<std::uint8_t*>(bytes.data()));
    image = cv::imdecode(raw, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    invalid(name, h.format + " could not be decoded: " + e.err);
  }
  if (image.empty()) invalid(name, "corrupt " + h.format + " data: the decoder gave up");
  const bool same = image.cols == h.width && image.rows == h.height;
  const bool rotated = image.cols == h.height && image.rows == h.width;  // EXIF orientation
  if (!same && !rotated) {
    invalid(name, h.format + " header says " + std::to_string(h.width) + "x" +
                      std::to_string(h.height) + " but the data decodes to " +
                      std::to_string(image.cols) + "x" + std::to_string(image.rows));
  }
  return image;
}

cv::Mat read_image(const std::filesystem::path& path, const ImageLimits& limits) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw Error(ErrorKind::kNotFound, name + ": no such file");
  }
  if (std::filesystem::is_directory(status)) invalid(name, "is a directory, not an image file");
  if (!std::filesystem::is_regular_file(status)) invalid(name, "is not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::kIo, name + ": cannot read its size: " + ec.message());
  if (size == 0) invalid(name, "empty file, not an image");
  if (size > limits.max_file_bytes) {
    invalid(name, "file of " + std::to_string(size) + " bytes exceeds the image limit of " +
                      std::to_string(limits.max_file_bytes));
  }
  std::vector<std::uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw Error(ErrorKind::kIo, name + ": read failed");
  }
  return decode_image(bytes, name, limits);
}

void write_image(const std::filesystem::path& path, const cv::Mat& image) {
  bool ok = false;
  try {
    ok = cv::imwrite(path.string(), image);
  } catch (const cv::Exception& e) {
    throw Error(ErrorKind::kIo, path.string() + ": cannot write image: " + e.err);
  }
  if (!ok)
    throw Error(ErrorKind::kIo,
                path.string() + ": cannot write image (unknown extension or unwritable folder)");
}

}  // namespace laneface::core
