#pragma once
// Where a camera's frames come from: a video file (any container OpenCV's videoio reads; the
// lane simulator writes MJPG in AVI), a folder of images (sorted by name), an RTSP/HTTP URL
// (through the same cv::VideoCapture), or several of these one after another (a camera's
// continuous stream cut into per-vehicle files). Errors name the file or URL.
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace laneface::capture {

struct Frame {
  cv::Mat image;      // 8-bit BGR
  long index = 0;     // 0, 1, 2, ... in this source
  double time_s = 0;  // index / fps
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame; false at the end of the stream. Throws core::Error(kInvalidInput) naming
  // the source when a frame cannot be decoded.
  virtual bool read(Frame& frame) = 0;
  // Skips the next frame without decoding it when the backend allows (grab only); false at
  // the end of the stream.
  virtual bool skip() = 0;
  virtual double fps() const = 0;
  // Frames in the source when known (files, folders), else -1 (a live URL).
  virtual long frame_count() const = 0;
  virtual std::string name() const = 0;
};

// True for a source that names a stream rather than a file: rtsp://, rtsps://, http(s)://.
bool is_stream_url(const std::string& source);

// Opens a source: a URL (see is_stream_url), a directory of images, or a video file.
// Throws core::Error naming the source: kNotFound for a missing file or folder;
// kInvalidInput for a file that no backend opens, a video with no decodable first frame,
// an empty image folder; kIo for a URL that cannot be opened. `fallback_fps` is used when
// the container reports none (image folders, some streams).
std::unique_ptr<FrameSource> open_frame_source(const std::string& source, double fallback_fps = 15);

// Several sources read one after another as one stream (frame indices continue).
std::unique_ptr<FrameSource> concat_sources(std::vector<std::unique_ptr<FrameSource>> parts);

}  // namespace laneface::capture
