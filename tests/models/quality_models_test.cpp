// Quality measures on the real sample photos (MIT, var/samples): pose from landmarks under
// rotation and mirroring, sharpness and exposure on modified copies, the eye model, and faces
// that cannot be assessed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "quality/assessor.hpp"
#include "quality/template_head.hpp"
#include "support/test_support.hpp"
#include "vision/face_engine.hpp"

namespace lq = laneface::quality;
namespace lv = laneface::vision;
namespace lc = laneface::core;
namespace lt = laneface::test;

namespace {

const lv::FaceEngine& engine() { return lt::shared_engine(); }

const lq::Assessor& assessor() {
  static const lq::Assessor a(
      lq::QualityConfig::load(lt::source_root() / "config" / "quality.toml"),
      lq::Assessor::load_models(engine().manifest()));
  return a;
}

struct Assessed {
  lq::QualityReport report;
  lc::Face face;
};

// The report of the face of interest; fails the test when there is none.
Assessed assess_main(const cv::Mat& img) {
  const auto faces = engine().analyze(img, {.min_face = 20});
  const auto k = lv::face_of_interest(faces, img.size());
  EXPECT_TRUE(k.has_value());
  if (!k) return {};
  return {assessor().assess(img, faces, *k), faces[*k]};
}

// The report of the detected face nearest to `c`.
Assessed assess_near(const cv::Mat& img, cv::Point2f c) {
  const auto faces = engine().analyze(img, {.min_face = 20});
  EXPECT_FALSE(faces.empty());
  if (faces.empty()) return {};
  const auto it = std::min_element(faces.begin(), faces.end(), [&](const auto& a, const auto& b) {
    return cv::norm(a.box.center() - c) < cv::norm(b.box.center() - c);
  });
  const auto k = std::size_t(it - faces.begin());
  return {assessor().assess(img, faces, k), faces[k]};
}

// The report of `face` after its landmarks were predicted again on `img`.
lq::QualityReport assess_face(const cv::Mat& img, lc::Face face) {
  engine().add_landmarks(img, face);
  return assessor().assess(img, std::span(&face, 1), 0);
}

double raw(const lq::QualityReport& r, const std::string& name) {
  const auto* m = r.find(name);
  EXPECT_TRUE(m && m->raw) << name << ": " << (m ? m->failure : "missing");
  return m && m->raw ? *m->raw : std::nan("");
}

cv::Mat sample(int n) { return lc::read_image(lt::sample_image(n)); }

}  // namespace

TEST(QualityOnPhotos, RotationMovesRollByTheRotation) {
  LANEFACE_REQUIRE_MODELS();
  // sample2 (head down 29 degrees, eyes closed) is left out: its landmarks drift by up to 5
  // degrees under rotation (the eye line too), so the pose cannot be held to 3 degrees there.
  for (const int n : {1, 3, 6}) {
    const cv::Mat img = sample(n);
    const auto base = assess_main(img);
    const double roll0 = raw(base.report, "HeadPoseRoll");
    const cv::Point2f c = base.face.box.center();
    for (const double deg : {-20.0, -10.0, 10.0, 20.0}) {
      const cv::Mat m = cv::getRotationMatrix2D(c, deg, 1.0);
      cv::Mat rotated;
      cv::warpAffine(img, rotated, m, img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      const auto r = assess_near(rotated, c);
      // The rotated face must be the same face: its box centre stays put.
      ASSERT_LT(cv::norm(r.face.box.center() - c), 0.3 * base.face.box.width()) << "sample" << n;
      EXPECT_NEAR(raw(r.report, "HeadPoseRoll") - roll0, -deg, 3)
          << "sample" << n << ", " << deg << " degrees";
    }
  }
}

TEST(QualityOnPhotos, MirroringFlipsYaw) {
  LANEFACE_REQUIRE_MODELS();
  for (const int n : {1, 3, 4, 5, 6}) {
    const cv::Mat img = sample(n);
    cv::Mat mirrored;
    cv::flip(img, mirrored, 1);
    const auto a = assess_main(img);
    const auto b = assess_main(mirrored);
    const double ya = raw(a.report, "HeadPoseYaw"), yb = raw(b.report, "HeadPoseYaw");
    ASSERT_GT(std::abs(ya), 10) << "sample" << n << ": pick faces that are clearly turned";
    EXPECT_LT(ya * yb, 0) << "sample" << n << ": " << ya << " vs " << yb;
    EXPECT_NEAR(ya, -yb, 5) << "sample" << n;
    EXPECT_NEAR(raw(a.report, "HeadPoseRoll"), -raw(b.report, "HeadPoseRoll"), 5) << "sample" << n;
  }
}

TEST(QualityOnPhotos, BlurLowersSharpnessAndDarkeningFailsUnderExposure) {
  LANEFACE_REQUIRE_MODELS();
  const cv::Mat img = sample(6);
  const auto base = assess_main(img);
  cv::Mat blurred;
  cv::GaussianBlur(img, blurred, {0, 0}, 4);
  EXPECT_LT(raw(assess_face(blurred, base.face), "Sharpness"), 0.5 * raw(base.report, "Sharpness"));
  const cv::Mat dark = img * 0.12;
  const auto rd = assess_face(dark, base.face);
  EXPECT_GT(raw(rd, "UnderExposurePrevention"), 0.5);
  const auto v = assessor().validate(rd, "lane-capture");
  EXPECT_FALSE(v.passed);
  bool found = false;
  for (const auto& f : v.failures) found |= f.find("dark pixel fraction") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(QualityOnPhotos, EyeModelSeesOpenAndClosedEyes) {
  LANEFACE_REQUIRE_MODELS();
  // Checked by eye: sample5's and sample6's main faces look at the camera with open eyes;
  // sample2's looks down with closed lids.
  EXPECT_GT(raw(assess_main(sample(5)).report, "EyesOpen"), 0.9);
  EXPECT_GT(raw(assess_main(sample(6)).report, "EyesOpen"), 0.9);
  EXPECT_LT(raw(assess_main(sample(2)).report, "EyesOpen"), 0.1);
}

TEST(QualityOnPhotos, PoseModelAgreesWithLandmarkYawInSign) {
  LANEFACE_REQUIRE_MODELS();
  for (const int n : {3, 4, 5, 6}) {
    const auto r = assess_main(sample(n)).report;
    // Disagreement below the yaw itself means both point the same way.
    EXPECT_LT(raw(r, "HeadPoseModelAgreement"), std::abs(raw(r, "HeadPoseYaw"))) << "sample" << n;
  }
}

TEST(QualityOnPhotos, TinyAndBorderFacesFailToAssess) {
  LANEFACE_REQUIRE_MODELS();
  const cv::Mat img = sample(5);
  const auto base = assess_main(img);
  // The same face at 10 px wide: image and landmarks scaled down together.
  const double s = 10.0 / base.face.box.width();
  cv::Mat tiny;
  cv::resize(img, tiny, {}, s, s, cv::INTER_AREA);
  lc::Face small = base.face;
  small.box = {float(small.box.x1 * s), float(small.box.y1 * s), float(small.box.x2 * s),
               float(small.box.y2 * s)};
  for (auto& p : *small.landmarks68) p *= float(s);
  // The same face cut by the left image border at its nose.
  const int cut = int(base.face.box.center().x);
  const cv::Mat cropped = img(cv::Rect(cut, 0, img.cols - cut, img.rows)).clone();
  lc::Face border = base.face;
  border.box.x1 -= cut;
  border.box.x2 -= cut;
  for (auto& p : *border.landmarks68) p.x -= cut;
  for (const auto& [image, face, reason] :
       {std::tuple{tiny, small, "too small"}, std::tuple{cropped, border, "border"}}) {
    const auto r = assessor().assess(image, std::span(&face, 1), 0);
    for (const char* name : {"Sharpness", "LuminanceMean", "DynamicRange"}) {
      const auto* m = r.find(name);
      ASSERT_NE(m, nullptr);
      EXPECT_FALSE(m->raw) << name;
      EXPECT_NE(m->failure.find(reason), std::string::npos) << name << ": " << m->failure;
    }
    for (const auto& m : r.measures) EXPECT_TRUE(!m.raw || std::isfinite(*m.raw)) << m.name;
    EXPECT_FALSE(assessor().validate(r, "lane-capture").passed);
  }
}

TEST(QualityOnPhotos, RecognitionMeasuresOnAClearBlurredAndTinyFace) {
  LANEFACE_REQUIRE_MODELS();
  const cv::Mat img = sample(6);
  const auto base = assess_main(img);
  const double norm = raw(base.report, "TemplateNorm");
  const double mirror = raw(base.report, "TemplateMirrorStability");
  const double jitter = raw(base.report, "TemplateJitterStability");
  EXPECT_GT(norm, 0);
  EXPECT_GT(mirror, 0.8);  // a clear frontal face: mirror and jittered crops look alike
  EXPECT_LE(mirror, 1.0 + 1e-9);
  EXPECT_GT(jitter, 0.8);
  // The same face, heavily blurred (landmarks kept): the template gets shorter. (Its jitter
  // stability does not fall, it rises — a blurred chip changes little when moved — so
  // stability alone does not catch blur; the unified score combines both.)
  cv::Mat blurred;
  cv::GaussianBlur(img, blurred, {0, 0}, 0.12 * base.face.box.width());
  lq::QualityReport rb = assessor().assess(blurred, std::span(&base.face, 1), 0);
  EXPECT_LT(raw(rb, "TemplateNorm"), 0.9 * norm);
  // Measured once per face and cached: the report's three values come from at most three
  // templates, and a face too small for the chip fails all three with the chip's reason.
  const double s = 10.0 / base.face.box.width();
  cv::Mat tiny;
  cv::resize(img, tiny, {}, s, s, cv::INTER_AREA);
  lc::Face small = base.face;
  small.box = {float(small.box.x1 * s), float(small.box.y1 * s), float(small.box.x2 * s),
               float(small.box.y2 * s)};
  for (auto& p : *small.landmarks68) p *= float(s);
  small.landmarks5.reset();
  const auto rt = assessor().assess(tiny, std::span(&small, 1), 0);
  for (const char* name : {"TemplateNorm", "TemplateMirrorStability", "TemplateJitterStability"}) {
    const auto* m = rt.find(name);
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(m->raw) << name;
    EXPECT_NE(m->failure.find("too small"), std::string::npos) << name << ": " << m->failure;
  }
}

TEST(QualityOnPhotos, TemplateQualityHeadReadsTheMatchersTemplate) {
  LANEFACE_REQUIRE_MODELS();
  // A head with arbitrary fixed weights (a fitted one comes from eval edc --head-out): the
  // measure's value must be the head applied to the matcher's own template (fr_feature with
  // mirroring) and the raw embedding's norm, the inputs eval edc fits it on.
  lq::TemplateHead head;
  head.recognizer = "fr_feature";
  for (int i = 0; i < 512; ++i) head.weights.push_back(0.05 * std::sin(0.37 * i));
  head.norm_weight = 0.02;
  head.bias = 0.3;
  const auto dir = std::filesystem::temp_directory_path() / "laneface_head_model_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "head.json") << head.to_json().dump();
  std::ofstream(dir / "q.toml") << "[quality.measures.TemplateNorm]\n"
                                   "mapping = { kind = \"linear\", from = 2.5, to = 4.5 }\n"
                                   "[quality.measures.TemplateQualityHead]\n"
                                   "mapping = { kind = \"linear\", from = -1, to = 1 }\n"
                                   "model = \"head.json\"\n";
  const lq::Assessor a(lq::QualityConfig::load(dir / "q.toml"),
                       lq::Assessor::load_models(engine().manifest()));
  const cv::Mat img = sample(6);
  const auto faces = engine().analyze(img, {.min_face = 20});
  const auto k = lv::face_of_interest(faces, img.size());
  ASSERT_TRUE(k.has_value());
  const auto r = a.assess(img, faces, *k);
  const auto tmpl = engine().embed(img, faces[*k]);
  ASSERT_EQ(tmpl.model_id, head.recognizer);
  EXPECT_NEAR(raw(r, "TemplateQualityHead"), head.predict(tmpl.values, raw(r, "TemplateNorm")),
              1e-4);
  // A head for another recognizer fails to assess, saying so.
  head.recognizer = "dlib_resnet";
  std::ofstream(dir / "head.json") << head.to_json().dump();
  const lq::Assessor b(lq::QualityConfig::load(dir / "q.toml"),
                       lq::Assessor::load_models(engine().manifest()));
  const auto* m = b.assess(img, faces, *k).find("TemplateQualityHead");
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(m->raw);
  EXPECT_NE(m->failure.find("dlib_resnet"), std::string::npos) << m->failure;
}

TEST(QualityOnPhotos, UnifiedScoresHeadReadsTheTemplateAndTheComponents) {
  LANEFACE_REQUIRE_MODELS();
  // The unified score's learned input (quality.unified.head, fitted by eval edc
  // --unified-head): the unified score must be the weighted mean of the weighted components
  // and of the head's mapped prediction from the matcher's template, its norm and the named
  // components, as eval edc computes it.
  lq::TemplateHead head;
  head.recognizer = "fr_feature";
  for (int i = 0; i < 512; ++i) head.weights.push_back(0.05 * std::cos(0.21 * i));
  head.norm_weight = 0.01;
  head.bias = 0.2;
  head.component_weights = {{"InterEyeDistance", 0.002}, {"TemplateNorm", -0.001}};
  const auto dir = std::filesystem::temp_directory_path() / "laneface_unified_head_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "uh.json") << head.to_json().dump();
  std::ofstream(dir / "q.toml") << "[quality.unified]\n"
                                   "head = \"uh.json\"\n"
                                   "head_mapping = { kind = \"sigmoid\", from = 0.3, to = 0.1 }\n"
                                   "head_weight = 2\n"
                                   "[quality.measures.InterEyeDistance]\n"
                                   "mapping = { kind = \"linear\", from = 0, to = 200 }\n"
                                   "unified_weight = 1\n"
                                   "[quality.measures.TemplateNorm]\n"
                                   "mapping = { kind = \"linear\", from = 2.5, to = 4.5 }\n";
  const lq::Assessor a(lq::QualityConfig::load(dir / "q.toml"),
                       lq::Assessor::load_models(engine().manifest()));
  const cv::Mat img = sample(6);
  const auto faces = engine().analyze(img, {.min_face = 20});
  const auto k = lv::face_of_interest(faces, img.size());
  ASSERT_TRUE(k.has_value());
  const auto r = a.assess(img, faces, *k);
  const auto tmpl = engine().embed(img, faces[*k]);
  const double ied = r.find("InterEyeDistance")->component.value();
  const double norm_c = r.find("TemplateNorm")->component.value();
  const double v = head.predict(tmpl.values, raw(r, "TemplateNorm"), std::vector{ied, norm_c});
  const double expected = (ied + 2 * (100 / (1 + std::exp(-(v - 0.3) / 0.1)))) / 3;
  EXPECT_NEAR(r.unified(), expected, 0.01);
  // The cheap gate has no head: its unified score is the weighted components alone.
  const auto rc = a.assess(img, faces, *k, lq::Scope::kCheap);
  EXPECT_NEAR(rc.unified(), rc.find("InterEyeDistance")->component.value(), 1e-9);
  // A head naming a measure that is not configured is a config error naming the file.
  head.component_weights = {{"Sharpness", 0.001}};
  std::ofstream(dir / "uh.json") << head.to_json().dump();
  try {
    const lq::Assessor b(lq::QualityConfig::load(dir / "q.toml"),
                         lq::Assessor::load_models(engine().manifest()));
    ADD_FAILURE() << "no error";
  } catch (const lc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Sharpness"), std::string::npos) << e.what();
  }
}
