// The built-in measures. Raw values follow ISO/IEC 29794-5 / OFIQ in spirit, simplified:
// geometry in pixels or inter-eye distances (IED), pixel statistics on the aligned gray
// chip's inner face region (only the pixels that come from inside the image).
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "quality/measure.hpp"
#include "quality/template_head.hpp"
#include "vision/landmarker.hpp"
#include "vision/preprocess.hpp"

namespace laneface::quality {
namespace {

double param_or(const MeasureParams& p, const std::string& key, double fallback) {
  const auto it = p.find(key);
  return it == p.end() ? fallback : it->second;
}

// ---- geometry ----------------------------------------------------------------------------

class InterEyeDistance final : public Measure {
 public:
  std::string_view label() const override { return "inter-eye distance"; }
  std::string_view unit() const override { return " px"; }
  Outcome compute(const FaceContext& ctx) const override {
    if (!ctx.eyes()) return Outcome::fail("no landmarks");
    return Outcome::ok(ctx.inter_eye_distance());
  }
};

// Head length (twice the eye-midpoint-to-chin distance) over the image height.
class HeadSize final : public Measure {
 public:
  std::string_view label() const override { return "head size"; }
  std::string_view unit() const override { return " of the image height"; }
  Outcome compute(const FaceContext& ctx) const override {
    const auto e = ctx.eyes();
    if (!e) return Outcome::fail("no landmarks");
    const cv::Point2f mid = (e->first + e->second) / 2;
    return Outcome::ok(2 * cv::norm((*ctx.face().landmarks68)[8] - mid) / ctx.image().rows);
  }
};

enum class Side { kLeft, kRight, kAbove, kBelow };

// Distance from the eye midpoint to one image border, in inter-eye distances.
class CropMargin final : public Measure {
 public:
  explicit CropMargin(Side side) : side_(side) {}
  std::string_view label() const override {
    switch (side_) {
      case Side::kLeft:
        return "left margin";
      case Side::kRight:
        return "right margin";
      case Side::kAbove:
        return "margin above";
      case Side::kBelow:
        return "margin below";
    }
    return "";
  }
  std::string_view unit() const override { return " IED"; }
  Outcome compute(const FaceContext& ctx) const override {
    const auto e = ctx.eyes();
    const double ied = ctx.inter_eye_distance();
    if (!e) return Outcome::fail("no landmarks");
    if (!(ied >= 1)) return Outcome::fail("inter-eye distance below 1 px");
    const cv::Point2f m = (e->first + e->second) / 2;
    const cv::Size s = ctx.image().size();
    const double d = side_ == Side::kLeft    ? m.x
                     : side_ == Side::kRight ? s.width - m.x
                     : side_ == Side::kAbove ? m.y
                                             : s.height - m.y;
    return Outcome::ok(d / ied);
  }

 private:
  Side side_;
};

enum class Axis { kYaw, kPitch, kRoll };

class HeadPoseAngle final : public Measure {
 public:
  explicit HeadPoseAngle(Axis axis) : axis_(axis) {}
  std::string_view label() const override {
    return axis_ == Axis::kYaw ? "yaw" : axis_ == Axis::kPitch ? "pitch" : "roll";
  }
  std::string_view unit() const override { return "°"; }
  Outcome compute(const FaceContext& ctx) const override {
    if (!ctx.pose_failure().value) return ctx.pose_failure();
    const HeadPose& p = ctx.landmark_pose();
    return Outcome::ok(axis_ == Axis::kYaw ? p.yaw : axis_ == Axis::kPitch ? p.pitch : p.roll);
  }

 private:
  Axis axis_;
};

// Gap between the inner lips (points 62 and 66) in inter-eye distances.
class MouthClosed final : public Measure {
 public:
  std::string_view label() const override { return "mouth opening"; }
  std::string_view unit() const override { return " IED"; }
  Outcome compute(const FaceContext& ctx) const override {
    const double ied = ctx.inter_eye_distance();
    if (!ctx.eyes()) return Outcome::fail("no landmarks");
    if (!(ied >= ctx.limits().min_inter_eye))
      return Outcome::fail("face too small to see the mouth");
    const auto& lm = *ctx.face().landmarks68;
    return Outcome::ok(std::max(0.0, double(lm[66].y - lm[62].y)) / ied);
  }
};

// Size of the largest other face relative to this one (0: the only face).
class SingleFacePresent final : public Measure {
 public:
  std::string_view label() const override { return "relative size of the largest other face"; }
  Outcome compute(const FaceContext& ctx) const override {
    const double own = std::sqrt(ctx.face().box.area());
    if (!(own > 0)) return Outcome::fail("empty face box");
    double other = 0;
    for (const auto& f : ctx.faces()) {
      if (&f != &ctx.face()) other = std::max(other, std::sqrt(double(f.box.area())));
    }
    return Outcome::ok(other / own);
  }
};

// ---- pixel statistics on the chip ---------------------------------------------------------

// Base for measures over the chip's face-region pixels that lie inside the image.
class ChipMeasure : public Measure {
 public:
  Outcome compute(const FaceContext& ctx) const final {
    if (!ctx.pixel_failure().empty()) return Outcome::fail(ctx.pixel_failure());
    const cv::Rect r = ctx.chip_face_region();
    return on_region(ctx.chip()(r), ctx.chip_mask()(r));
  }

 protected:
  virtual Outcome on_region(const cv::Mat& gray, const cv::Mat& mask) const = 0;

  static std::array<double, 256> histogram(const cv::Mat& gray, const cv::Mat& mask) {
    std::array<double, 256> h{};
    double n = 0;
    for (int y = 0; y < gray.rows; ++y) {
      for (int x = 0; x < gray.cols; ++x) {
        if (mask.at<std::uint8_t>(y, x)) {
          h[gray.at<std::uint8_t>(y, x)] += 1;
          n += 1;
        }
      }
    }
    if (n > 0)
      for (auto& v : h) v /= n;
    return h;
  }
};

// Standard deviation of the 3x3 Laplacian.
class Sharpness final : public ChipMeasure {
 public:
  std::string_view label() const override { return "sharpness"; }
  Outcome on_region(const cv::Mat& gray, const cv::Mat& mask) const override {
    cv::Mat lap, eroded;
    cv::Laplacian(gray, lap, CV_32F, 3);
    cv::erode(mask, eroded, cv::Mat());  // no Laplacian across the image border
    cv::Scalar mean, sd;
    cv::meanStdDev(lap, mean, sd, eroded);
    return Outcome::ok(sd[0]);
  }
};

// Fraction of pixels at or below `dark` (under-exposure) or at or above `bright` (over-).
class ExposureFraction final : public ChipMeasure {
 public:
  ExposureFraction(bool under, int threshold) : under_(under), threshold_(threshold) {}
  std::string_view label() const override {
    return under_ ? "dark pixel fraction" : "bright pixel fraction";
  }
  Outcome on_region(const cv::Mat& gray, const cv::Mat& mask) const override {
    const auto h = histogram(gray, mask);
    double s = 0;
    for (int i = 0; i < 256; ++i) {
      if (under_ ? i <= threshold_ : i >= threshold_) s += h[i];
    }
    return Outcome::ok(s);
  }

 private:
  bool under_;
  int threshold_;
};

// Entropy of the luminance histogram, bits (0..8).
class DynamicRange final : public ChipMeasure {
 public:
  std::string_view label() const override { return "dynamic range"; }
  std::string_view unit() const override { return " bits"; }
  Outcome on_region(const cv::Mat& gray, const cv::Mat& mask) const override {
    double e = 0;
    for (double p : histogram(gray, mask)) {
      if (p > 0) e -= p * std::log2(p);
    }
    return Outcome::ok(e);
  }
};

// Mean (or variance) of luminance scaled to 0..1.
class Luminance final : public ChipMeasure {
 public:
  explicit Luminance(bool variance) : variance_(variance) {}
  std::string_view label() const override {
    return variance_ ? "luminance variance" : "mean luminance";
  }
  Outcome on_region(const cv::Mat& gray, const cv::Mat& mask) const override {
    cv::Scalar mean, sd;
    cv::meanStdDev(gray, mean, sd, mask);
    return Outcome::ok(variance_ ? (sd[0] / 255) * (sd[0] / 255) : mean[0] / 255);
  }

 private:
  bool variance_;
};

// Histogram intersection (0..1) of the left and right halves of the face, 32 bins.
class IlluminationUniformity final : public ChipMeasure {
 public:
  std::string_view label() const override { return "illumination uniformity"; }
  Outcome on_region(const cv::Mat& gray, const cv::Mat& mask) const override {
    const int half = gray.cols / 2;
    const cv::Rect left(0, 0, half, gray.rows), right(gray.cols - half, 0, half, gray.rows);
    const auto hl = histogram(gray(left), mask(left)), hr = histogram(gray(right), mask(right));
    double inter = 0;
    for (int b = 0; b < 256; b += 8) {
      double a = 0, c = 0;
      for (int i = b; i < b + 8; ++i) {
        a += hl[i];
        c += hr[i];
      }
      inter += std::min(a, c);
    }
    return Outcome::ok(inter);
  }
};

// Whether both eyes can be seen (an occlusion proxy): for each eye, the contrast (standard
// deviation of luminance) of a box around the eye on the chip, relative to that of the whole
// face region; the smaller of the two. An eye covered by a hand, hair, a dark lens or a
// uniform patch loses the dark iris and lid edges and its ratio falls towards 0; open or
// closed eyes both keep lid, lash and brow edges.
class EyesVisible final : public Measure {
 public:
  std::string_view label() const override { return "eye visibility"; }
  Outcome compute(const FaceContext& ctx) const override {
    if (!ctx.pixel_failure().empty()) return Outcome::fail(ctx.pixel_failure());
    const cv::Mat& chip = ctx.chip();
    const cv::Mat& mask = ctx.chip_mask();
    const cv::Rect face = ctx.chip_face_region();
    cv::Scalar mean, sd_face;
    cv::meanStdDev(chip(face), mean, sd_face, mask(face));
    if (!(sd_face[0] > 1)) return Outcome::fail("face region has no contrast");
    const int s = ctx.limits().chip_size;
    double ratio = 1e9;
    for (const cv::Point2f eye : {cv::Point2f(0.3419f, 0.4616f), cv::Point2f(0.6565f, 0.4598f)}) {
      const cv::Rect box = cv::Rect(int((eye.x - 0.11f) * s), int((eye.y - 0.06f) * s),
                                    int(0.22f * s), int(0.12f * s)) &
                           cv::Rect(0, 0, s, s);
      if (cv::countNonZero(mask(box)) < box.area() / 2)
        return Outcome::fail("eye outside the image");
      cv::Scalar m, sd;
      cv::meanStdDev(chip(box), m, sd, mask(box));
      ratio = std::min(ratio, sd[0] / sd_face[0]);
    }
    return Outcome::ok(ratio);
  }
};

// JPEG-style 8x8 blockiness of the face in the image's own pixel grid: the mean absolute
// step between neighbouring pixels across 8-pixel block borders over the mean step elsewhere,
// horizontally and vertically averaged. About 1 without block artefacts; grows with coarse
// compression. (A photo resized after compression has lost its grid and reads about 1.)
class CompressionArtifacts final : public Measure {
 public:
  std::string_view label() const override { return "8x8 blockiness"; }
  Outcome compute(const FaceContext& ctx) const override {
    const auto& b = ctx.face().box;
    const cv::Rect image(0, 0, ctx.image().cols, ctx.image().rows);
    const cv::Rect region = cv::Rect(cv::Point(int(std::floor(b.x1)), int(std::floor(b.y1))),
                                     cv::Point(int(std::ceil(b.x2)), int(std::ceil(b.y2)))) &
                            image;
    if (region.width < 32 || region.height < 32)
      return Outcome::fail(
          cv::format("face region %dx%d px too small for 8x8 blocks", region.width, region.height));
    cv::Mat gray;
    cv::cvtColor(ctx.image()(region), gray, cv::COLOR_BGR2GRAY);
    double across[2] = {0, 0}, within[2] = {0, 0};
    double n_across[2] = {0, 0}, n_within[2] = {0, 0};
    for (int y = 0; y < gray.rows; ++y) {
      const auto* row = gray.ptr<std::uint8_t>(y);
      const auto* below = y + 1 < gray.rows ? gray.ptr<std::uint8_t>(y + 1) : nullptr;
      const bool border_y = (region.y + y + 1) % 8 == 0;
      for (int x = 0; x < gray.cols; ++x) {
        if (x + 1 < gray.cols) {
          const bool border_x = (region.x + x + 1) % 8 == 0;
          const double d = std::abs(int(row[x + 1]) - int(row[x]));
          (border_x ? across[0] : within[0]) += d;
          (border_x ? n_across[0] : n_within[0]) += 1;
        }
        if (below) {
          const double d = std::abs(int(below[x]) - int(row[x]));
          (border_y ? across[1] : within[1]) += d;
          (border_y ? n_across[1] : n_within[1]) += 1;
        }
      }
    }
    double ratio = 0;
    for (int k = 0; k < 2; ++k) {
      const double a = across[k] / std::max(1.0, n_across[k]);
      const double w = within[k] / std::max(1.0, n_within[k]);
      ratio += 0.5 * (a + 0.5) / (w + 0.5);  // +0.5 grey level: a flat region reads 1
    }
    return Outcome::ok(ratio);
  }
};

// ---- recognition-based measures (one or two template computations) ------------------------

// L2 norm of the recognizer's embedding before normalisation. Networks trained with a
// margin loss tend to give confident, recognisable faces longer embeddings (the idea behind
// MagFace and OFIQ's unified score).
class TemplateNorm final : public Measure {
 public:
  Cost cost() const override { return Cost::kModel; }
  std::string_view label() const override { return "template norm"; }
  Outcome compute(const FaceContext& ctx) const override {
    std::string why;
    const auto& e = ctx.embedding(ChipVariant::kPlain, why);
    if (e.empty()) return Outcome::fail(why);
    double n = 0;
    for (const float v : e) n += double(v) * v;
    return Outcome::ok(std::sqrt(n));
  }
};

// Cosine similarity between the templates of the face's chip and of a changed chip (its
// mirror image, or a slightly shifted and scaled crop): a face the recognizer sees clearly
// gives nearly the same template; a blurred, occluded, turned or badly landmarked face does not.
class TemplateStability final : public Measure {
 public:
  explicit TemplateStability(ChipVariant variant) : variant_(variant) {}
  Cost cost() const override { return Cost::kModel; }
  std::string_view label() const override {
    return variant_ == ChipVariant::kMirrored ? "template mirror stability"
                                              : "template jitter stability";
  }
  Outcome compute(const FaceContext& ctx) const override {
    std::string why;
    const auto& a = ctx.embedding(ChipVariant::kPlain, why);
    if (a.empty()) return Outcome::fail(why);
    const auto& b = ctx.embedding(variant_, why);
    if (b.empty()) return Outcome::fail(why);
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
      dot += double(a[i]) * b[i];
      na += double(a[i]) * a[i];
      nb += double(b[i]) * b[i];
    }
    if (!(na > 0 && nb > 0)) return Outcome::fail("empty template");
    return Outcome::ok(dot / std::sqrt(na * nb));
  }

 private:
  ChipVariant variant_;
};

// A learned measure: a linear head on the recognizer's own template (the chip's and its mirror
// image's embeddings, as the matcher combines them) and the raw embedding's norm, fitted to
// predict the mean score of the image's mated comparisons (quality/template_head.hpp). Its
// raw value is that prediction, a cosine score. Costs the same two templates as
// TemplateNorm + TemplateMirrorStability.
class TemplateQualityHead final : public Measure {
 public:
  explicit TemplateQualityHead(const std::filesystem::path& model) {
    if (model.empty())
      throw core::Error(core::ErrorKind::kConfig,
                        "quality measure TemplateQualityHead needs model = \"FILE\" (its fitted "
                        "head, written by laneface eval edc --head-out)");
    head_ = TemplateHead::load(model);
  }
  Cost cost() const override { return Cost::kModel; }
  std::string_view label() const override { return "learned template quality"; }
  Outcome compute(const FaceContext& ctx) const override {
    std::string why;
    const auto in = head_input(head_, ctx, why);
    if (!in) return Outcome::fail(why);
    return Outcome::ok(head_.predict(in->tmpl, in->norm));
  }

 private:
  TemplateHead head_;
};

// ---- model measures ------------------------------------------------------------------------

std::vector<float> softmax(const cv::Mat& logits) {
  std::vector<float> v(logits.ptr<float>(), logits.ptr<float>() + logits.total());
  const float mx = *std::max_element(v.begin(), v.end());
  float s = 0;
  for (auto& x : v) s += (x = std::exp(x - mx));
  for (auto& x : v) x /= s;
  return v;
}

// Probability that the less open eye is open (fr_eye on each eye; the smaller of the two).
// The eye crop is the package's own: a square of 1.6 eye widths around the eyelid points.
class EyesOpen final : public Measure {
 public:
  Cost cost() const override { return Cost::kModel; }
  std::string_view label() const override { return "eyes open probability"; }
  Outcome compute(const FaceContext& ctx) const override {
    if (!ctx.models().eye) return Outcome::fail("eye model not loaded");
    if (!ctx.eyes()) return Outcome::fail("no landmarks");
    auto& pool = *ctx.models().eye;
    const auto& spec = pool.spec();
    const int open_index = int(spec.param("open_index"));
    const double pad = spec.param_or("crop_scale", 1.6);
    const auto& lm = *ctx.face().landmarks68;
    const cv::Rect image(0, 0, ctx.image().cols, ctx.image().rows);
    double p_open = 1;
    for (const int first : {36, 42}) {
      const cv::Point2f c = (lm[first + 1] + lm[first + 2] + lm[first + 4] + lm[first + 5]) / 4;
      const double side = pad * cv::norm(lm[first + 3] - lm[first]);
      if (!(side >= 6)) return Outcome::fail(cv::format("eye too small (%.1f px crop)", side));
      const cv::Rect crop(int(std::lround(c.x - side / 2)), int(std::lround(c.y - side / 2)),
                          int(std::lround(side)), int(std::lround(side)));
      if ((crop & image).area() < 0.9 * crop.area()) return Outcome::fail("eye outside the image");
      const auto in = vision::crop_resize(ctx.image(), crop, {spec.input.width, spec.input.height});
      cv::Mat out;
      {
        auto lease = pool.acquire();
        lease.net().setInput(vision::to_blob(in.image, spec.input), spec.input.name);
        out = lease.net().forward(spec.outputs.at(0));
      }
      if (out.total() <= std::size_t(open_index)) {
        throw core::Error(core::ErrorKind::kModelIntegrity,
                          spec.file + ": output smaller than open_index");
      }
      p_open = std::min<double>(p_open, softmax(out)[open_index]);
    }
    return Outcome::ok(p_open);
  }
};

// Absolute yaw difference between the pose model and the landmark pose: large values flag
// landmarks that do not fit the face (occlusion, a bad detection).
class HeadPoseModelAgreement final : public Measure {
 public:
  Cost cost() const override { return Cost::kModel; }
  std::string_view label() const override { return "pose model disagreement"; }
  std::string_view unit() const override { return "°"; }
  Outcome compute(const FaceContext& ctx) const override {
    if (!ctx.models().pose) return Outcome::fail("pose model not loaded");
    if (!ctx.pose_failure().value) return ctx.pose_failure();
    const auto yaw = model_yaw(ctx);
    if (!yaw.value) return yaw;
    return Outcome::ok(std::abs(*yaw.value - ctx.landmark_pose().yaw));
  }

  // Yaw from fr_pose: the detector box grown by `crop_expand` on every side, binned
  // softmax expectation (bin * bin_width + bin_offset). Sign as HeadPose.
  static Outcome model_yaw(const FaceContext& ctx) {
    auto& pool = *ctx.models().pose;
    const auto& spec = pool.spec();
    const auto& b = ctx.face().box;
    const double g = spec.param_or("crop_expand", 0.25);
    const cv::Rect crop(int(b.x1 - g * b.width()), int(b.y1 - g * b.height()),
                        int((1 + 2 * g) * b.width()), int((1 + 2 * g) * b.height()));
    if ((crop & cv::Rect(0, 0, ctx.image().cols, ctx.image().rows)).area() < 16)
      return Outcome::fail("face box outside the image");
    const auto in = vision::crop_resize(ctx.image(), crop, {spec.input.width, spec.input.height});
    cv::Mat out;
    {
      auto lease = pool.acquire();
      lease.net().setInput(vision::to_blob(in.image, spec.input), spec.input.name);
      out = lease.net().forward(spec.outputs.at(0));  // yaw bins
    }
    const auto p = softmax(out);
    double e = 0;
    for (std::size_t i = 0; i < p.size(); ++i) e += p[i] * double(i);
    return Outcome::ok(spec.param("yaw_sign") *
                       (e * spec.param("bin_width") + spec.param("bin_offset")));
  }
};

template <class T, class... Args>
MeasureRegistry::Factory make(Args... args) {
  return [=](const MeasureParams&, const std::filesystem::path&) {
    return std::make_unique<T>(args...);
  };
}

}  // namespace

MeasureRegistry builtin_registry() {
  MeasureRegistry r;
  r.add("InterEyeDistance", make<InterEyeDistance>());
  r.add("HeadSize", make<HeadSize>());
  r.add("LeftwardCropOfTheFaceImage", make<CropMargin>(Side::kLeft));
  r.add("RightwardCropOfTheFaceImage", make<CropMargin>(Side::kRight));
  r.add("MarginAboveOfTheFaceImage", make<CropMargin>(Side::kAbove));
  r.add("MarginBelowOfTheFaceImage", make<CropMargin>(Side::kBelow));
  r.add("HeadPoseYaw", make<HeadPoseAngle>(Axis::kYaw));
  r.add("HeadPosePitch", make<HeadPoseAngle>(Axis::kPitch));
  r.add("HeadPoseRoll", make<HeadPoseAngle>(Axis::kRoll));
  r.add("MouthClosed", make<MouthClosed>());
  r.add("SingleFacePresent", make<SingleFacePresent>());
  r.add("Sharpness", make<Sharpness>());
  r.add("UnderExposurePrevention", [](const MeasureParams& p, const std::filesystem::path&) {
    return std::make_unique<ExposureFraction>(true, int(param_or(p, "dark", 25)));
  });
  r.add("OverExposurePrevention", [](const MeasureParams& p, const std::filesystem::path&) {
    return std::make_unique<ExposureFraction>(false, int(param_or(p, "bright", 247)));
  });
  r.add("DynamicRange", make<DynamicRange>());
  r.add("LuminanceMean", make<Luminance>(false));
  r.add("LuminanceVariance", make<Luminance>(true));
  r.add("IlluminationUniformity", make<IlluminationUniformity>());
  r.add("EyesOpen", make<EyesOpen>());
  r.add("HeadPoseModelAgreement", make<HeadPoseModelAgreement>());
  r.add("EyesVisible", make<EyesVisible>());
  r.add("CompressionArtifacts", make<CompressionArtifacts>());
  r.add("TemplateNorm", make<TemplateNorm>());
  r.add("TemplateMirrorStability", make<TemplateStability>(ChipVariant::kMirrored));
  r.add("TemplateJitterStability", make<TemplateStability>(ChipVariant::kJittered));
  r.add("TemplateQualityHead", [](const MeasureParams&, const std::filesystem::path& model) {
    return std::make_unique<TemplateQualityHead>(model);
  });
  return r;
}

}  // namespace laneface::quality
