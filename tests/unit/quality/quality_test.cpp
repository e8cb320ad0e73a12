// Quality measures on drawn faces with known landmarks: no models needed.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "unit/quality/default_assessor.hpp"
#include "unit/quality/synthetic_face.hpp"

namespace lq = laneface::quality;
namespace lt = laneface::test;

namespace {

const lq::Assessor& assessor() { return lt::default_assessor(); }

lq::QualityReport assess(const cv::Mat& img, const laneface::core::Face& face) {
  return assessor().assess(img, std::span(&face, 1), 0);
}

double raw(const lq::QualityReport& r, const std::string& name) {
  const auto* m = r.find(name);
  EXPECT_NE(m, nullptr) << name;
  EXPECT_TRUE(m && m->raw) << name << ": " << (m ? m->failure : "");
  return m && m->raw ? *m->raw : std::nan("");
}

bool any_contains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

// Every value in the report is finite; failed measures carry a reason.
void expect_well_formed(const lq::QualityReport& r) {
  for (const auto& m : r.measures) {
    if (m.raw) {
      EXPECT_TRUE(std::isfinite(*m.raw)) << m.name;
      ASSERT_TRUE(m.component) << m.name;
      EXPECT_GE(*m.component, 0) << m.name;
      EXPECT_LE(*m.component, 100) << m.name;
    } else {
      EXPECT_FALSE(m.failure.empty()) << m.name;
    }
  }
}

}  // namespace

TEST(QualityMapping, LinearSigmoidAndAbs) {
  const lq::Mapping lin{lq::Mapping::Kind::kLinear, 10, 20, false};
  EXPECT_DOUBLE_EQ(lin.apply(5), 0);
  EXPECT_DOUBLE_EQ(lin.apply(15), 50);
  EXPECT_DOUBLE_EQ(lin.apply(25), 100);
  const lq::Mapping down{lq::Mapping::Kind::kLinear, 45, 0, true};
  EXPECT_DOUBLE_EQ(down.apply(-9), 80);
  EXPECT_DOUBLE_EQ(down.apply(90), 0);
  const lq::Mapping sig{lq::Mapping::Kind::kSigmoid, 12, 4, false};
  EXPECT_DOUBLE_EQ(sig.apply(12), 50);
  EXPECT_GT(sig.apply(30), 98);
}

TEST(QualityConfig, ShippedConfigHasTheProfilesAndKnownMeasures) {
  const auto& c = assessor().config();
  EXPECT_TRUE(c.profiles.count("lane-capture"));
  EXPECT_TRUE(c.profiles.count("document"));
  const auto names = lq::builtin_registry().names();
  for (const auto& m : c.measures) {
    EXPECT_NE(std::find(names.begin(), names.end(), m.name), names.end()) << m.name;
  }
  EXPECT_FALSE(c.unified_weights.empty());
}

TEST(QualityConfig, BadConfigsAreErrorsThatNameTheKey) {
  const auto path = std::filesystem::temp_directory_path() / "laneface_quality_bad.toml";
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    std::ofstream(path) << text;
    try {
      lq::Assessor a(lq::QualityConfig::load(path));
      ADD_FAILURE() << "no error for: " << text;
    } catch (const laneface::core::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("[quality.measures.Nope]\nmapping = { kind = \"linear\", from = 0, to = 1 }\n",
               "Nope");
  expect_error("[quality.measures.Sharpness]\nmapping = { kind = \"cubic\", from = 0, to = 1 }\n",
               "kind");
  expect_error(
      "[quality.measures.Sharpness]\nmapping = { kind = \"linear\", from = 0, to = 1 }\n"
      "[quality.profiles.p]\nrequirements = [ { measure = \"HeadPoseYaw\", max_abs = 3 } ]\n",
      "HeadPoseYaw");
  expect_error(
      "[quality.measures.Sharpness]\nmapping = { kind = \"linear\", from = 0, to = 1 }\n"
      "[quality.profiles.p]\nrequirements = [ { measure = \"Sharpness\" } ]\n",
      "exactly one");
  expect_error(
      "[quality.measures.TemplateNorm]\nmapping = { kind = \"linear\", from = 2, to = 4 }\n"
      "cheap_unified_weight = 1\n",
      "not a cheap measure");
  expect_error(
      "[quality.unified]\npower = 9\n"
      "[quality.measures.Sharpness]\nmapping = { kind = \"linear\", from = 0, to = 1 }\n",
      "quality.unified.power");
  expect_error("[quality\n", "line");
  std::filesystem::remove(path);
  EXPECT_THROW(lq::QualityConfig::load("/nonexistent/quality.toml"), laneface::core::Error);
}

TEST(QualityMeasures, FrontalDrawnFaceHasSensibleGeometryAndPose) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const auto r = assess(s.image, s.face);
  expect_well_formed(r);
  EXPECT_NEAR(raw(r, "InterEyeDistance"), 80, 0.5);
  EXPECT_NEAR(raw(r, "LeftwardCropOfTheFaceImage"), 4.0, 0.01);
  EXPECT_NEAR(raw(r, "MarginAboveOfTheFaceImage"), 260.0 / 80, 0.01);
  EXPECT_NEAR(raw(r, "HeadPoseYaw"), 0, 2);
  EXPECT_NEAR(raw(r, "HeadPoseRoll"), 0, 1);
  EXPECT_NEAR(raw(r, "HeadPosePitch"), 0, 10);
  EXPECT_NEAR(raw(r, "MouthClosed"), 0, 1e-6);
  EXPECT_DOUBLE_EQ(raw(r, "SingleFacePresent"), 0);
  const auto* eyes = r.find("EyesOpen");
  ASSERT_NE(eyes, nullptr);
  EXPECT_FALSE(eyes->raw);
  EXPECT_NE(eyes->failure.find("not loaded"), std::string::npos);
}

TEST(QualityMeasures, RotatedLandmarksMoveRollByTheRotation) {
  const auto s = lt::synthetic_face({640, 640}, {320, 300}, 80);
  const double base = raw(assess(s.image, s.face), "HeadPoseRoll");
  for (const double deg : {-25.0, -10.0, 10.0, 25.0}) {
    // Positive angle: counter-clockwise as displayed, which is negative roll.
    const cv::Mat m = cv::getRotationMatrix2D({320, 300}, deg, 1.0);
    cv::Mat rotated;
    cv::warpAffine(s.image, rotated, m, s.image.size());
    auto face = s.face;
    for (auto& p : *face.landmarks68) {
      p = {float(m.at<double>(0, 0) * p.x + m.at<double>(0, 1) * p.y + m.at<double>(0, 2)),
           float(m.at<double>(1, 0) * p.x + m.at<double>(1, 1) * p.y + m.at<double>(1, 2))};
    }
    EXPECT_NEAR(raw(assess(rotated, face), "HeadPoseRoll") - base, -deg, 3) << deg << " degrees";
  }
}

TEST(QualityMeasures, BlurredCopyScoresLowerSharpness) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  cv::Mat blurred;
  cv::GaussianBlur(s.image, blurred, {0, 0}, 3);
  const double sharp = raw(assess(s.image, s.face), "Sharpness");
  const double soft = raw(assess(blurred, s.face), "Sharpness");
  EXPECT_LT(soft, 0.5 * sharp);
}

TEST(QualityMeasures, DarkenedCopyFailsUnderExposureAndBrightenedFailsOverExposure) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const auto normal = assess(s.image, s.face);
  EXPECT_TRUE(assessor().validate(normal, "lane-capture").passed)
      << assessor().validate(normal, "lane-capture").failures.front();
  const cv::Mat dark = s.image * 0.12;
  const auto rd = assess(dark, s.face);
  EXPECT_GT(raw(rd, "UnderExposurePrevention"), raw(normal, "UnderExposurePrevention") + 0.5);
  const auto vd = assessor().validate(rd, "lane-capture");
  EXPECT_FALSE(vd.passed);
  EXPECT_TRUE(any_contains(vd.failures, "dark pixel fraction")) << vd.failures.size();
  cv::Mat bright;
  s.image.convertTo(bright, -1, 1.0, 140);
  const auto vb = assessor().validate(assess(bright, s.face), "lane-capture");
  EXPECT_TRUE(any_contains(vb.failures, "bright pixel fraction"));
}

TEST(QualityMeasures, TenPixelFaceFailsToAssessWithReasons) {
  const auto s = lt::synthetic_face({200, 200}, {100, 100}, 4);  // face ~10 px wide
  const auto r = assess(s.image, s.face);
  expect_well_formed(r);
  for (const char* name : {"Sharpness", "UnderExposurePrevention", "HeadPoseYaw", "MouthClosed"}) {
    const auto* m = r.find(name);
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(m->raw) << name;
    EXPECT_NE(m->failure.find("too small"), std::string::npos) << name << ": " << m->failure;
  }
  const auto v = assessor().validate(r, "lane-capture");
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(any_contains(v.failures, "inter-eye distance 4 px below 20 px"));
  EXPECT_TRUE(any_contains(v.failures, "sharpness cannot be assessed: face too small"));
  EXPECT_TRUE(std::isfinite(r.unified()));
  EXPECT_EQ(lq::to_json(r)["measures"]["Sharpness"]["component"], -1);
}

TEST(QualityMeasures, FaceAtTheBorderFailsToAssessWithReasons) {
  const auto s = lt::synthetic_face({640, 640}, {20, 300}, 80);  // left half outside
  const auto r = assess(s.image, s.face);
  expect_well_formed(r);
  const auto* sharp = r.find("Sharpness");
  ASSERT_NE(sharp, nullptr);
  EXPECT_FALSE(sharp->raw);
  EXPECT_NE(sharp->failure.find("border"), std::string::npos) << sharp->failure;
  const auto v = assessor().validate(r, "lane-capture");
  EXPECT_TRUE(any_contains(v.failures, "left margin 0.25 IED below 0.60 IED"));
  // Entirely outside, and a degenerate face: results, never exceptions or NaN.
  for (const cv::Point2f c : {cv::Point2f(-500, -500), cv::Point2f(320, 300)}) {
    auto t = lt::synthetic_face({640, 640}, {320, 300}, 80);
    for (auto& p : *t.face.landmarks68) p = c.x < 0 ? p + c : c;
    expect_well_formed(assess(t.image, t.face));
  }
}

TEST(QualityMeasures, SecondFaceOfSimilarSizeIsReported) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  std::vector<laneface::core::Face> faces{s.face, s.face};
  faces[1].box = {10, 10, 10 + s.face.box.width() * 0.5f, 10 + s.face.box.height() * 0.5f};
  const auto r = assessor().assess(s.image, faces, 0);
  EXPECT_NEAR(raw(r, "SingleFacePresent"), 0.5, 1e-3);
}

TEST(QualityProfiles, FailuresAreSentences) {
  lq::QualityReport r;
  r.measures = {{"HeadPoseYaw", 44.2, 15, {}}, {"InterEyeDistance", 31.0, 50, {}}};
  const auto v = assessor().validate(r, "lane-capture");
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(any_contains(v.failures, "yaw 44° exceeds ±40°"));
  EXPECT_FALSE(any_contains(v.failures, "inter-eye distance"));  // 31 px meets lane-capture's 20 px
  EXPECT_TRUE(any_contains(v.failures, "sharpness was not measured"));
  const auto d = assessor().validate(r, "document");
  EXPECT_TRUE(any_contains(d.failures, "inter-eye distance 31 px below 60 px"));
  EXPECT_THROW(assessor().validate(r, "no-such-profile"), laneface::core::Error);
}

TEST(QualityUnified, PowerMeanArithmeticGeometricAndHarmonic) {
  const std::vector<double> c{25, 100, 0}, w{1, 1, 0};
  EXPECT_DOUBLE_EQ(lq::power_mean(c, w, 1), 62.5);
  EXPECT_NEAR(lq::power_mean(c, w, 0), 50, 1e-9);   // sqrt(25 * 100)
  EXPECT_NEAR(lq::power_mean(c, w, -1), 40, 1e-9);  // 2 / (1/25 + 1/100)
  // A failed (0) component is floored at 1 below power 1: the rest still counts.
  const std::vector<double> failed{0, 100}, w2{1, 1};
  EXPECT_NEAR(lq::power_mean(failed, w2, 0), 10, 1e-9);
  EXPECT_DOUBLE_EQ(lq::power_mean(failed, w2, 1), 50);
  EXPECT_DOUBLE_EQ(lq::power_mean(c, std::vector<double>{0, 0, 0}, 0), 0);
  // Weights only scale: doubling them all changes nothing.
  EXPECT_NEAR(lq::power_mean(c, std::vector<double>{2, 2, 0}, 0), 50, 1e-9);
}

TEST(QualityScope, CheapGateUsesItsOwnWeights) {
  const auto path = std::filesystem::temp_directory_path() / "laneface_quality_cheap.toml";
  std::ofstream(path) << "[quality.measures.Sharpness]\n"
                         "mapping = { kind = \"linear\", from = 0, to = 1000 }\n"
                         "unified_weight = 1\n"
                         "[quality.measures.InterEyeDistance]\n"
                         "mapping = { kind = \"linear\", from = 0, to = 1000 }\n"
                         "cheap_unified_weight = 1\n";
  const lq::Assessor a(lq::QualityConfig::load(path));
  std::filesystem::remove(path);
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const auto all = a.assess(s.image, std::span(&s.face, 1), 0);
  const auto cheap = a.assess(s.image, std::span(&s.face, 1), 0, lq::Scope::kCheap);
  EXPECT_NEAR(all.unified(), *all.find("Sharpness")->component, 1e-9);
  EXPECT_NEAR(cheap.unified(), *cheap.find("InterEyeDistance")->component, 1e-9);
}

TEST(QualityScope, CheapGateSkipsModelMeasures) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const auto r = assessor().assess(s.image, std::span(&s.face, 1), 0, lq::Scope::kCheap);
  EXPECT_EQ(r.find("EyesOpen"), nullptr);
  EXPECT_NE(r.find("Sharpness"), nullptr);
  EXPECT_NE(r.find(lq::kUnifiedName), nullptr);
}

namespace {

// The 68-point layout seen in a mirror: index i of the mirrored face is kMirror68[i] of the
// original (jaw, brows, nostrils, eyes and lips swap sides; centre points stay).
constexpr std::array<int, 68> kMirror68{
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0,  26, 25, 24, 23, 22, 21,
    20, 19, 18, 17, 27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36,
    41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65};

}  // namespace

TEST(QualityMeasures, MirroredFaceFlipsYawSign) {
  auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  // Turn the face towards the image right: the points nearer the camera (nose, mouth, chin)
  // move right, the far (left) jaw line moves in.
  auto& lm = *s.face.landmarks68;
  for (int i = 27; i <= 35; ++i) lm[i].x += 20;
  for (int i = 48; i <= 67; ++i) lm[i].x += 12;
  for (int i = 0; i <= 8; ++i) lm[i].x += 16.0f * float(8 - i) / 8;
  const double yaw = raw(assess(s.image, s.face), "HeadPoseYaw");
  ASSERT_GT(yaw, 10) << "the constructed face must be clearly turned";
  cv::Mat flipped;
  cv::flip(s.image, flipped, 1);
  laneface::core::Face m = s.face;
  for (int i = 0; i < 68; ++i) {
    const cv::Point2f p = lm[std::size_t(kMirror68[std::size_t(i)])];
    (*m.landmarks68)[std::size_t(i)] = {float(s.image.cols - 1) - p.x, p.y};
  }
  m.box = {float(s.image.cols - 1) - s.face.box.x2, s.face.box.y1,
           float(s.image.cols - 1) - s.face.box.x1, s.face.box.y2};
  const auto r = assess(flipped, m);
  EXPECT_LT(raw(r, "HeadPoseYaw"), -10);
  EXPECT_NEAR(raw(r, "HeadPoseYaw"), -yaw, 1.0);
  EXPECT_NEAR(raw(r, "HeadPoseRoll"), -raw(assess(s.image, s.face), "HeadPoseRoll"), 1.0);
}

TEST(QualityMeasures, CoveredEyeLowersEyeVisibility) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const double open = raw(assess(s.image, s.face), "EyesVisible");
  EXPECT_GT(open, 0.6);
  // A flat skin-coloured patch over the image-right eye (a hand, a plaster).
  cv::Mat covered = s.image.clone();
  cv::rectangle(covered, cv::Rect(325, 235, 75, 50), cv::Scalar(120, 150, 190), cv::FILLED);
  const double hidden = raw(assess(covered, s.face), "EyesVisible");
  EXPECT_LT(hidden, 0.5 * open);
  // Dark glasses: both eyes under flat black lenses.
  cv::Mat glasses = s.image.clone();
  for (const int x : {245, 325}) cv::rectangle(glasses, cv::Rect(x, 232, 70, 56), {10, 10, 10}, -1);
  EXPECT_LT(raw(assess(glasses, s.face), "EyesVisible"), 0.5 * open);
}

TEST(QualityMeasures, JpegBlocksRaiseCompressionArtifacts) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const double clean = raw(assess(s.image, s.face), "CompressionArtifacts");
  EXPECT_NEAR(clean, 1.0, 0.1);  // no block grid in a drawn image
  double previous = clean;
  for (const int q : {60, 20, 5}) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", s.image, bytes, {cv::IMWRITE_JPEG_QUALITY, q});
    const cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
    const double v = raw(assess(decoded, s.face), "CompressionArtifacts");
    EXPECT_GT(v, previous) << "JPEG quality " << q;
    previous = v;
  }
  EXPECT_GT(previous, 1.3);  // quality 5: clearly blocky
}

TEST(QualityMeasures, RecognitionMeasuresWithoutTheModelFailToAssess) {
  const auto s = lt::synthetic_face({640, 640}, {320, 260}, 80);
  const auto r = assess(s.image, s.face);
  for (const char* name : {"TemplateNorm", "TemplateMirrorStability", "TemplateJitterStability"}) {
    const auto* m = r.find(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_FALSE(m->raw) << name;
    EXPECT_NE(m->failure.find("recognizer model not loaded"), std::string::npos) << m->failure;
  }
  // They cost a template: the cheap gate leaves them out.
  const auto cheap = assessor().assess(s.image, std::span(&s.face, 1), 0, lq::Scope::kCheap);
  EXPECT_EQ(cheap.find("TemplateNorm"), nullptr);
  EXPECT_NE(cheap.find("EyesVisible"), nullptr);
  EXPECT_NE(cheap.find("CompressionArtifacts"), nullptr);
}
