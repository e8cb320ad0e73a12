#include "service/stream_lane.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>
#include <thread>

#include "core/error.hpp"

namespace laneface::service {

using core::Error;
using core::ErrorKind;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string random_suffix() {
  static std::mutex m;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(m);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  auto v = rng();
  for (int i = 0; i < 12; ++i, v >>= 4) out += kHex[v & 15];
  return out;
}

// An open camera and its first frame.
struct OpenCamera {
  std::string id, url;  // url: redacted
  cv::VideoCapture cap;
  cv::Mat first;
  double fps = 0;
};

// Opens one camera on its own thread and waits at most `deadline`: OpenCV's timeouts bound
// FFmpeg's connect and reads, and the wait bounds anything they miss (the thread is then left
// to finish on its own and releases the stream).
std::unique_ptr<OpenCamera> open_camera(const std::string& id, const std::string& url,
                                        const StreamOptions& o) {
  struct State {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::unique_ptr<OpenCamera> camera;
    std::string error;
  };
  auto state = std::make_shared<State>();
  const auto shown = redact_url(url);
  std::thread([state, id, url, shown, o] {
    auto cam = std::make_unique<OpenCamera>();
    cam->id = id;
    cam->url = shown;
    std::string error;
    try {
      const std::vector<int> params{
          cv::CAP_PROP_OPEN_TIMEOUT_MSEC, static_cast<int>(o.connect_timeout.count()),
          cv::CAP_PROP_READ_TIMEOUT_MSEC, static_cast<int>(o.read_timeout.count())};
      if (!cam->cap.open(url, cv::CAP_FFMPEG, params) || !cam->cap.isOpened()) {
        error = "camera " + id + ": " + shown + ": cannot open the stream within " +
                std::to_string(o.connect_timeout.count()) + " ms (unreachable, refused or not a " +
                "video stream)";
      } else if (!cam->cap.read(cam->first) || cam->first.empty()) {
        error = "camera " + id + ": " + shown + ": no frame within " +
                std::to_string(o.read_timeout.count()) + " ms";
      } else {
        cam->fps = cam->cap.get(cv::CAP_PROP_FPS);
        if (!(cam->fps > 0 && cam->fps < 1000)) cam->fps = o.fallback_fps;
      }
    } catch (const cv::Exception& e) {
      error = "camera " + id + ": " + shown + ": " + e.what();
    }
    std::lock_guard lock(state->m);
    state->done = true;
    state->error = error;
    if (error.empty()) state->camera = std::move(cam);
    state->cv.notify_all();
  }).detach();
  const auto deadline = o.connect_timeout + o.read_timeout + std::chrono::seconds(1);
  std::unique_lock lock(state->m);
  if (!state->cv.wait_for(lock, deadline, [&] { return state->done; })) {
    throw Error(ErrorKind::kIo, "camera " + id + ": " + shown + ": no answer within " +
                                    std::to_string(deadline.count()) + " ms");
  }
  if (!state->error.empty()) throw Error(ErrorKind::kIo, state->error);
  return std::move(state->camera);
}

cv::Mat as_bgr(const cv::Mat& img, const cv::Size& size) {
  cv::Mat out = img;
  if (out.channels() == 1) cv::cvtColor(out, out, cv::COLOR_GRAY2BGR);
  if (out.channels() == 4) cv::cvtColor(out, out, cv::COLOR_BGRA2BGR);
  if (out.size() != size) cv::resize(out, out, size);
  return out;
}

}  // namespace

void check_stream_url(const std::string& camera, const std::string& url) {
  auto bad = [&](const std::string& why) {
    throw Error(ErrorKind::kInvalidInput,
                "camera " + camera + ": URL " + redact_url(url.substr(0, 200)) + ": " + why);
  };
  if (url.empty()) bad("empty");
  if (url.size() > 2048) bad("longer than 2048 characters");
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      bad("holds a space or control character");
  }
  const auto colon = url.find("://");
  if (colon == std::string::npos) bad("not a URL (expected rtsp://HOST/...)");
  const auto scheme = lower(url.substr(0, colon));
  if (scheme != "rtsp" && scheme != "rtsps" && scheme != "http" && scheme != "https")
    bad("scheme " + scheme + " is not rtsp, rtsps, http or https");
  auto rest = url.substr(colon + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  std::string host = rest, port;
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) bad("unclosed [ in the host");
    host = rest.substr(0, close + 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') bad("junk after the host");
      port = rest.substr(close + 2);
      if (port.empty()) bad("empty port");
    }
  } else if (const auto c = rest.rfind(':'); c != std::string::npos) {
    host = rest.substr(0, c);
    port = rest.substr(c + 1);
    if (port.empty()) bad("empty port");
  }
  if (host.empty() || host == "[]") bad("no host");
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoi(port) == 0 || std::stoi(port) > 65535)
      bad("port " + port + " is not 1..65535");
  }
}

std::string redact_url(const std::string& url) {
  const auto colon = url.find("://");
  if (colon == std::string::npos) return url;
  const auto start = colon + 3;
  const auto end = url.find_first_of("/?#", start);
  const auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***@" + url.substr(at + 1);
}

struct StreamRecorder::Impl {
  std::vector<std::unique_ptr<OpenCamera>> cameras;
  StreamOptions options;
  double fps = 15;
  std::atomic<std::int64_t> frames{0};
};

StreamRecorder::StreamRecorder() : impl_(std::make_unique<Impl>()) {}
StreamRecorder::~StreamRecorder() = default;
double StreamRecorder::fps() const { return impl_->fps; }
std::int64_t StreamRecorder::frames() const { return impl_->frames.load(); }

std::unique_ptr<StreamRecorder> StreamRecorder::connect(
    const std::vector<std::pair<std::string, std::string>>& cameras, const StreamOptions& options) {
  if (cameras.empty()) throw Error(ErrorKind::kInvalidInput, "stream lane: no cameras");
  if (cameras.size() > kMaxStreamCameras)
    throw Error(ErrorKind::kInvalidInput,
                "stream lane: more than " + std::to_string(kMaxStreamCameras) + " cameras");
  for (const auto& [id, url] : cameras) check_stream_url(id, url);
  std::unique_ptr<StreamRecorder> r(new StreamRecorder());
  r->impl_->options = options;
  std::vector<std::unique_ptr<OpenCamera>> opened(cameras.size());
  std::vector<std::string> errors(cameras.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < cameras.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        opened[i] = open_camera(cameras[i].first, cameras[i].second, options);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (!e.empty()) throw Error(ErrorKind::kIo, e);
  r->impl_->cameras = std::move(opened);
  r->impl_->fps = r->impl_->cameras.front()->fps;
  return r;
}

std::string StreamRecorder::run(const std::filesystem::path& spool, const std::atomic<bool>& stop,
                                const std::function<void(StreamSegment)>& on_segment) {
  auto& cams = impl_->cameras;
  const double fps = impl_->fps;
  const auto per_segment =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(impl_->options.segment_s * fps + 0.5));
  std::vector<cv::Size> sizes;
  for (const auto& c : cams) sizes.push_back(c->first.size());
  std::vector<cv::VideoWriter> writers(cams.size());
  StreamSegment seg;
  std::string error;

  auto open_segment = [&] {
    seg = {};
    seg.folder = spool / ("segment-" + random_suffix());
    std::filesystem::create_directories(seg.folder);
    seg.start = std::chrono::system_clock::now();
    for (std::size_t k = 0; k < cams.size(); ++k) {
      const auto file = (seg.folder / (cams[k]->id + ".avi")).string();
      if (!writers[k].open(file, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, sizes[k]))
        throw Error(ErrorKind::kIo, file + ": cannot write a segment file");
      seg.files.emplace_back(cams[k]->id, file);
    }
  };
  auto close_segment = [&](bool final) {
    for (auto& w : writers) w.release();
    if (seg.folder.empty()) return;
    if (seg.frames >= per_segment || (final && seg.frames >= static_cast<std::int64_t>(fps))) {
      on_segment(std::move(seg));
    } else {
      std::error_code ec;
      std::filesystem::remove_all(seg.folder, ec);
    }
    seg = {};
  };

  try {
    open_segment();
    std::vector<cv::Mat> frames(cams.size());
    for (std::size_t k = 0; k < cams.size(); ++k) frames[k] = cams[k]->first;
    bool have = true;  // the first frames read at connect
    while (!stop.load()) {
      if (!have) {
        for (std::size_t k = 0; k < cams.size() && error.empty(); ++k) {
          if (!cams[k]->cap.read(frames[k]) || frames[k].empty()) {
            error = "camera " + cams[k]->id + ": " + cams[k]->url +
                    ": the stream ended or gave no frame within " +
                    std::to_string(impl_->options.read_timeout.count()) + " ms";
          }
        }
        if (!error.empty() || stop.load()) break;
      }
      have = false;
      for (std::size_t k = 0; k < cams.size(); ++k) writers[k].write(as_bgr(frames[k], sizes[k]));
      ++seg.frames;
      ++impl_->frames;
      if (seg.frames >= per_segment) {
        close_segment(false);
        open_segment();
      }
    }
    close_segment(true);
  } catch (const std::exception& e) {
    for (auto& w : writers) w.release();
    if (!seg.folder.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(seg.folder, ec);
    }
    if (error.empty()) error = e.what();
  }
  for (auto& c : cams) c->cap.release();
  return error;
}

}  // namespace laneface::service
