#include "capture/frame_source.hpp"

#include <algorithm>
#include <opencv2/videoio.hpp>

#include "core/error.hpp"
#include "core/image_io.hpp"

namespace laneface::capture {

using core::Error;
using core::ErrorKind;

namespace {

class VideoSource final : public FrameSource {
 public:
  VideoSource(const std::string& source, bool url, double fallback_fps) : name_(source) {
    // MJPG in AVI: OpenCV's own reader grabs a frame without decoding it, so frames skipped
    // by the detection stride cost nothing. Anything else: the default backends.
    std::string ext = std::filesystem::path(source).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    bool opened = false;
    if (!url && ext == ".avi") {
      try {
        opened = cap_.open(source, cv::CAP_OPENCV_MJPEG) && cap_.isOpened();
      } catch (const cv::Exception&) {
        opened = false;
      }
    }
    if (!opened && (!cap_.open(source, cv::CAP_ANY) || !cap_.isOpened())) {
      if (url) throw Error(ErrorKind::kIo, source + ": cannot open the stream");
      throw Error(ErrorKind::kInvalidInput,
                  source + ": not a readable video (no backend opens it; corrupt or not a video)");
    }
    fps_ = cap_.get(cv::CAP_PROP_FPS);
    if (!(fps_ > 0 && fps_ < 1000)) fps_ = fallback_fps;
    count_ = url ? -1 : static_cast<long>(cap_.get(cv::CAP_PROP_FRAME_COUNT));
    if (!url && count_ <= 0) count_ = -1;
    // Prove the stream decodes: read the first frame now and hand it out first.
    if (!cap_.read(first_) || first_.empty()) {
      throw Error(ErrorKind::kInvalidInput,
                  source + ": the video has no decodable frame (empty or corrupt)");
    }
    have_first_ = true;
  }

  bool read(Frame& frame) override {
    cv::Mat img;
    if (have_first_) {
      img = first_;
      first_.release();
      have_first_ = false;
    } else if (!cap_.read(img) || img.empty()) {
      return false;
    }
    if (img.type() != CV_8UC3) {
      if (img.channels() == 1 && img.depth() == CV_8U) {
        cv::Mat bgr;
        cv::merge(std::vector<cv::Mat>{img, img, img}, bgr);
        img = bgr;
      } else {
        throw Error(ErrorKind::kInvalidInput,
                    name_ + ": frame " + std::to_string(next_) + " is not 8-bit BGR");
      }
    }
    frame.image = img;
    frame.index = next_++;
    frame.time_s = frame.index / fps_;
    return true;
  }

  bool skip() override {
    if (have_first_) {
      first_.release();
      have_first_ = false;
      ++next_;
      return true;
    }
    if (!cap_.grab()) return false;
    ++next_;
    return true;
  }

  double fps() const override { return fps_; }
  long frame_count() const override { return count_; }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  cv::VideoCapture cap_;
  double fps_ = 15;
  long count_ = -1;
  long next_ = 0;
  cv::Mat first_;
  bool have_first_ = false;
};

class FolderSource final : public FrameSource {
 public:
  FolderSource(const std::filesystem::path& dir, double fps) : dir_(dir), fps_(fps) {
    static const std::vector<std::string> kExt = {".jpg", ".jpeg", ".png", ".bmp", ".ppm",
                                                  ".pgm", ".webp", ".tif", ".tiff"};
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (std::find(kExt.begin(), kExt.end(), ext) != kExt.end()) files_.push_back(e.path());
    }
    std::sort(files_.begin(), files_.end());
    if (files_.empty()) {
      throw Error(ErrorKind::kInvalidInput, dir.string() + ": the image folder holds no images");
    }
  }
  bool read(Frame& frame) override {
    if (next_ >= static_cast<long>(files_.size())) return false;
    frame.image = core::read_image(files_[next_]);
    frame.index = next_++;
    frame.time_s = frame.index / fps_;
    return true;
  }
  bool skip() override {
    if (next_ >= static_cast<long>(files_.size())) return false;
    ++next_;
    return true;
  }
  double fps() const override { return fps_; }
  long frame_count() const override { return static_cast<long>(files_.size()); }
  std::string name() const override { return dir_.string(); }

 private:
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> files_;
  double fps_;
  long next_ = 0;
};

class ConcatSource final : public FrameSource {
 public:
  explicit ConcatSource(std::vector<std::unique_ptr<FrameSource>> parts)
      : parts_(std::move(parts)) {
    if (parts_.empty()) throw Error(ErrorKind::kInvalidInput, "concat: no sources");
  }
  bool read(Frame& frame) override {
    while (cur_ < parts_.size()) {
      if (parts_[cur_]->read(frame)) {
        frame.index = next_++;
        frame.time_s = frame.index / fps();
        return true;
      }
      ++cur_;
    }
    return false;
  }
  bool skip() override {
    while (cur_ < parts_.size()) {
      if (parts_[cur_]->skip()) {
        ++next_;
        return true;
      }
      ++cur_;
    }
    return false;
  }
  double fps() const override { return parts_.front()->fps(); }
  long frame_count() const override {
    long n = 0;
    for (const auto& p : parts_) {
      if (p->frame_count() < 0) return -1;
      n += p->frame_count();
    }
    return n;
  }
  std::string name() const override {
    return parts_.front()->name() + " (+" + std::to_string(parts_.size() - 1) + " more)";
  }

 private:
  std::vector<std::unique_ptr<FrameSource>> parts_;
  std::size_t cur_ = 0;
  long next_ = 0;
};

}  // namespace

bool is_stream_url(const std::string& source) {
  for (const char* p : {"rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://"}) {
    if (source.rfind(p, 0) == 0) return true;
  }
  return false;
}

std::unique_ptr<FrameSource> open_frame_source(const std::string& source, double fallback_fps) {
  if (source.empty()) throw Error(ErrorKind::kInvalidInput, "camera source: empty path or URL");
  if (is_stream_url(source)) return std::make_unique<VideoSource>(source, true, fallback_fps);
  const std::filesystem::path path(source);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(ErrorKind::kNotFound, source + ": camera file not found");
  }
  if (std::filesystem::is_directory(path, ec)) {
    return std::make_unique<FolderSource>(path, fallback_fps);
  }
  if (std::filesystem::file_size(path, ec) == 0) {
    throw Error(ErrorKind::kInvalidInput, source + ": the video file is empty");
  }
  return std::make_unique<VideoSource>(source, false, fallback_fps);
}

std::unique_ptr<FrameSource> concat_sources(std::vector<std::unique_ptr<FrameSource>> parts) {
  return std::make_unique<ConcatSource>(std::move(parts));
}

}  // namespace laneface::capture
