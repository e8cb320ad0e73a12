#pragma once
// Live lanes: cameras that are stream URLs (rtsp://, rtsps://, http://, https://). The service
// connects to every camera with a bounded timeout (an unreachable or silent camera is an error
// after connect_timeout, never a hang), reads the cameras in turn and cuts their frames into
// segments of segment_s seconds, written as MJPG AVI files; each segment is one vehicle pass
// for the lane pipeline. Without sensor events a segment is a time slice, not a vehicle.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace laneface::service {

struct StreamOptions {
  std::chrono::milliseconds connect_timeout{5000};  // per camera (cameras connect in parallel)
  std::chrono::milliseconds read_timeout{5000};     // a stalled stream ends the recording
  double segment_s = 10;                            // seconds of video per pass
  double fallback_fps = 15;                         // when the stream reports none
};

inline constexpr std::size_t kMaxStreamCameras = 8;

// Checks a camera URL: scheme rtsp, rtsps, http or https, a host, at most 2048 characters, no
// spaces or control characters. Throws core::Error(kInvalidInput) naming the camera and the
// URL (password hidden).
void check_stream_url(const std::string& camera, const std::string& url);
// The URL with "user:password@" replaced by "***@" (for listings, events and logs).
std::string redact_url(const std::string& url);

// One recorded segment: per camera an MJPG AVI file in `folder` (the consumer removes it).
struct StreamSegment {
  std::filesystem::path folder;
  std::vector<std::pair<std::string, std::string>> files;  // camera id, file
  std::int64_t frames = 0;                                 // per camera
  std::chrono::system_clock::time_point start;
};

class StreamRecorder {
 public:
  // Connects to every camera (id, URL) in parallel, each bounded by connect_timeout, and reads
  // a first frame from each. Throws core::Error(kIo) naming the camera and the URL (password
  // hidden) when one does not open or gives no frame in time; kInvalidInput for bad URLs.
  static std::unique_ptr<StreamRecorder> connect(
      const std::vector<std::pair<std::string, std::string>>& cameras,
      const StreamOptions& options);
  ~StreamRecorder();
  StreamRecorder(const StreamRecorder&) = delete;
  StreamRecorder& operator=(const StreamRecorder&) = delete;

  // Reads the cameras in turn until `stop` is set or a camera ends or stalls (read_timeout),
  // writing segments under `spool`; each full segment, and a last one of at least one second,
  // goes to on_segment. Returns "" when stopped, else the error naming the camera. The streams
  // are closed before it returns.
  std::string run(const std::filesystem::path& spool, const std::atomic<bool>& stop,
                  const std::function<void(StreamSegment)>& on_segment);
  double fps() const;
  std::int64_t frames() const;  // read so far, per camera

 private:
  StreamRecorder();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laneface::service
