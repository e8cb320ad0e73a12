#include "quality/measure.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "vision/landmarker.hpp"
#include "vision/preprocess.hpp"

namespace laneface::quality {
namespace {

// The ArcFace 112 x 112 five-point layout, as fractions of the chip side: the chip the
// recognizer sees, so the pixel measures look at what the matcher looks at.
const std::array<cv::Point2f, 5> kChipTemplate{{{0.3419f, 0.4616f},
                                                {0.6565f, 0.4598f},
                                                {0.5002f, 0.6405f},
                                                {0.3710f, 0.8247f},
                                                {0.6315f, 0.8232f}}};

std::string fmt(const char* f, double v) { return cv::format(f, v); }

}  // namespace

FaceContext::FaceContext(const cv::Mat& bgr, std::span<const core::Face> faces, std::size_t index,
                         const Models& models, const Limits& limits)
    : bgr_(bgr), faces_(faces), index_(index), models_(models), limits_(limits) {
  if (index >= faces.size())
    throw core::Error(core::ErrorKind::kInternal, "FaceContext: face index out of range");
}

std::optional<std::pair<cv::Point2f, cv::Point2f>> FaceContext::eyes() const {
  if (!face().landmarks68) return std::nullopt;
  const auto five = vision::reduce_to_5(*face().landmarks68);
  return std::pair{five[0], five[1]};
}

double FaceContext::inter_eye_distance() const {
  const auto e = eyes();
  return e ? cv::norm(e->second - e->first) : 0.0;
}

const std::string& FaceContext::pixel_failure() const {
  prepare_chip();
  return pixel_failure_;
}

const cv::Mat& FaceContext::chip() const {
  prepare_chip();
  return chip_;
}

const cv::Mat& FaceContext::chip_mask() const {
  prepare_chip();
  return chip_mask_;
}

cv::Rect FaceContext::chip_face_region() const {
  const int s = limits_.chip_size;
  return {int(0.15 * s), int(0.35 * s), int(0.70 * s), int(0.60 * s)};
}

void FaceContext::prepare_chip() const {
  if (chip_ready_) return;
  chip_ready_ = true;
  if (!face().landmarks68) {
    pixel_failure_ = "no landmarks";
    return;
  }
  const double ied = inter_eye_distance();
  if (!(ied >= limits_.min_inter_eye)) {
    pixel_failure_ = "face too small: inter-eye distance " + fmt("%.1f", ied) + " px below " +
                     fmt("%.0f", limits_.min_inter_eye) + " px";
    return;
  }
  const auto five = vision::reduce_to_5(*face().landmarks68);
  const int s = limits_.chip_size;
  std::array<cv::Point2f, 5> target;
  for (std::size_t i = 0; i < 5; ++i) target[i] = kChipTemplate[i] * float(s);
  const auto prepared = vision::align(bgr_, five, target, {s, s});
  cv::cvtColor(prepared.image, chip_, cv::COLOR_BGR2GRAY);
  // Mask of chip pixels whose source lies inside the image.
  cv::Matx23d inv;
  cv::invertAffineTransform(prepared.transform.to_input, inv);
  chip_mask_ = cv::Mat::zeros(s, s, CV_8U);
  for (int y = 0; y < s; ++y) {
    auto* row = chip_mask_.ptr<std::uint8_t>(y);
    for (int x = 0; x < s; ++x) {
      const double sx = inv(0, 0) * x + inv(0, 1) * y + inv(0, 2);
      const double sy = inv(1, 0) * x + inv(1, 1) * y + inv(1, 2);
      row[x] = sx >= 0 && sy >= 0 && sx <= bgr_.cols - 1 && sy <= bgr_.rows - 1 ? 255 : 0;
    }
  }
  const cv::Rect region = chip_face_region();
  const double outside = 1.0 - cv::countNonZero(chip_mask_(region)) / double(region.area());
  if (outside > limits_.max_outside_fraction) {
    pixel_failure_ = "face at the image border: " + fmt("%.0f", 100 * outside) +
                     " % of the face region lies outside the image";
  }
}

const Outcome& FaceContext::pose_failure() const {
  prepare_pose();
  return pose_status_;
}

const HeadPose& FaceContext::landmark_pose() const {
  prepare_pose();
  return pose_;
}

void FaceContext::prepare_pose() const {
  if (pose_ready_) return;
  pose_ready_ = true;
  pose_status_ = Outcome::ok(0);
  if (!face().landmarks68) {
    pose_status_ = Outcome::fail("no landmarks");
    return;
  }
  const double ied = inter_eye_distance();
  if (!(ied >= limits_.min_inter_eye)) {
    pose_status_ = Outcome::fail("face too small for landmark pose: inter-eye distance " +
                                 fmt("%.1f", ied) + " px");
    return;
  }
  const auto pose = head_pose_from_landmarks(*face().landmarks68, bgr_.size());
  if (!pose) {
    pose_status_ = Outcome::fail("head pose fit failed");
    return;
  }
  pose_ = *pose;
}

const std::vector<float>& FaceContext::embedding(ChipVariant variant, std::string& why) const {
  static const std::vector<float> kNone;
  if (!models_.recognizer) {
    why = "recognizer model not loaded";
    return kNone;
  }
  if (!pixel_failure().empty()) {
    why = pixel_failure();
    return kNone;
  }
  auto& slot = embeddings_[std::size_t(variant)];
  if (slot) return *slot;
  auto& pool = *models_.recognizer;
  const auto& spec = pool.spec();
  const auto five =
      face().landmarks5 ? *face().landmarks5 : vision::reduce_to_5(*face().landmarks68);
  std::vector<cv::Point2f> target(spec.alignment_template.begin(), spec.alignment_template.end());
  const cv::Size size(spec.input.width, spec.input.height);
  if (variant == ChipVariant::kJittered) {
    const cv::Point2f centre(size.width / 2.0f, size.height / 2.0f);
    const cv::Point2f shift(0.02f * size.width, -0.02f * size.height);
    for (auto& p : target) p = centre + (p - centre) * 0.94f + shift;
  }
  cv::Mat chip = vision::align(bgr_, five, target, size).image;
  if (variant == ChipVariant::kMirrored) cv::flip(chip, chip, 1);
  cv::Mat out;
  {
    auto lease = pool.acquire();
    lease.net().setInput(vision::to_blob(chip, spec.input), spec.input.name);
    out = lease.net().forward(spec.outputs.at(0));
  }
  slot.emplace(out.ptr<float>(), out.ptr<float>() + out.total());
  return *slot;
}

void MeasureRegistry::add(std::string name, Factory factory) {
  factories_[std::move(name)] = std::move(factory);
}

std::unique_ptr<Measure> MeasureRegistry::create(const std::string& name,
                                                 const MeasureParams& params,
                                                 const std::filesystem::path& model) const {
  const auto it = factories_.find(name);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    throw core::Error(core::ErrorKind::kConfig,
                      "unknown quality measure '" + name + "' (known: " + known + ")");
  }
  return it->second(params, model);
}

std::vector<std::string> MeasureRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, f] : factories_) out.push_back(n);
  return out;
}

}  // namespace laneface::quality
