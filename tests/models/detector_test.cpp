// The face engine on real photos: counts checked by eye on the six MIT-licensed group photos of
// @vladmandic/face-api (fetched by scripts/setup), and small faces in a 1080p frame.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "support/test_support.hpp"
#include "vision/face_engine.hpp"

namespace lv = laneface::vision;
namespace lc = laneface::core;
namespace lt = laneface::test;

namespace {

const lv::FaceEngine& engine() { return lt::shared_engine(); }

}  // namespace

TEST(Detector, FindsEveryFaceInTheGroupPhotos) {
  LANEFACE_REQUIRE_MODELS();
  // Counted by eye: every visible face, no posters or partial faces in these photos.
  const int expected[] = {3, 3, 3, 4, 5, 4};
  for (int n = 1; n <= 6; ++n) {
    const cv::Mat img = lc::read_image(lt::sample_image(n));
    const auto faces = engine().detector().detect(img);
    EXPECT_EQ(static_cast<int>(faces.size()), expected[n - 1]) << "sample" << n << ".jpg";
    for (const auto& f : faces) {
      EXPECT_GT(f.score, 0.9f) << "sample" << n;
      EXPECT_GT(f.box.width(), 100) << "sample" << n;  // all are large, close faces
    }
  }
}

TEST(Detector, FindsFacesFrom40To600PixelsInA1080pFrame) {
  LANEFACE_REQUIRE_MODELS();
  const cv::Mat src = lc::read_image(lt::sample_image(5));
  auto faces = engine().detector().detect(src);
  ASSERT_FALSE(faces.empty());
  const lc::Box face = faces.front().box;
  // A crop with context around the face, pasted at each size into a noisy 1080p frame.
  const float ctx = 1.6f;
  const cv::Point2f c = face.center();
  const cv::Rect crop =
      cv::Rect(int(c.x - face.width() * ctx / 2), int(c.y - face.height() * ctx / 2),
               int(face.width() * ctx), int(face.height() * ctx)) &
      cv::Rect({0, 0}, src.size());
  cv::RNG rng(7);
  for (const int width : {40, 48, 64, 90, 130, 200, 300, 450, 600}) {
    cv::Mat frame(1080, 1920, CV_8UC3);
    rng.fill(frame, cv::RNG::UNIFORM, 70, 110);
    cv::GaussianBlur(frame, frame, {0, 0}, 3);
    const double s = width / face.width();
    cv::Mat patch;
    cv::resize(src(crop), patch, {}, s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    patch =
        patch(cv::Rect({0, 0}, cv::Size(std::min(patch.cols, 1900), std::min(patch.rows, 1060))));
    const int x = rng.uniform(0, 1920 - patch.cols), y = rng.uniform(0, 1080 - patch.rows);
    patch.copyTo(frame(cv::Rect(x, y, patch.cols, patch.rows)));
    const lc::Box want{float(x + (face.x1 - crop.x) * s), float(y + (face.y1 - crop.y) * s),
                       float(x + (face.x2 - crop.x) * s), float(y + (face.y2 - crop.y) * s)};
    const auto found = engine().detector().detect(frame, {.min_face = 40});
    ASSERT_EQ(found.size(), 1u) << "face " << width << " px wide";
    EXPECT_GE(lc::iou(found[0].box, want), 0.6f) << "face " << width << " px wide";
  }
}

TEST(Landmarks, AreAnatomicallyOrderedAndMirrorWithTheImage) {
  LANEFACE_REQUIRE_MODELS();
  const cv::Mat img = lc::read_image(lt::sample_image(5));
  auto faces = engine().analyze(img);
  ASSERT_FALSE(faces.empty());
  const auto& f = faces.front();
  ASSERT_TRUE(f.landmarks5 && f.landmarks68);
  const auto& p = *f.landmarks5;
  EXPECT_LT(p[0].x, p[1].x);                    // left eye left of right eye
  EXPECT_LT(std::max(p[0].y, p[1].y), p[2].y);  // eyes above the nose tip
  EXPECT_LT(p[2].y, std::min(p[3].y, p[4].y));  // nose above the mouth corners
  for (const auto& q : p) EXPECT_TRUE(f.box.rect().contains(q)) << q;

  cv::Mat flipped;
  cv::flip(img, flipped, 1);
  auto ff = engine().analyze(flipped);
  ASSERT_EQ(ff.size(), faces.size());
  // The same face in the mirror: its box is the mirrored box.
  const lc::Box mirrored{img.cols - f.box.x2, f.box.y1, img.cols - f.box.x1, f.box.y2};
  const auto it = std::max_element(ff.begin(), ff.end(), [&](const auto& a, const auto& b) {
    return lc::iou(a.box, mirrored) < lc::iou(b.box, mirrored);
  });
  ASSERT_GT(lc::iou(it->box, mirrored), 0.8f);
  const auto& m = *it->landmarks5;
  const float eye_dist = cv::norm(p[1] - p[0]);
  // Mirrored left eye = original right eye, x reflected; within 8 % of the eye distance.
  EXPECT_NEAR(img.cols - m[0].x, p[1].x, 0.08 * eye_dist);
  EXPECT_NEAR(m[0].y, p[1].y, 0.08 * eye_dist);
  EXPECT_NEAR(img.cols - m[2].x, p[2].x, 0.08 * eye_dist);
}

TEST(Recognizer, TemplatesAreUnitLengthDeterministicAndDiscriminative) {
  LANEFACE_REQUIRE_MODELS();
  const cv::Mat img = lc::read_image(lt::sample_image(6));
  const auto faces = engine().analyze(img);
  ASSERT_EQ(faces.size(), 4u);
  std::vector<lc::Template> t;
  for (const auto& f : faces) t.push_back(engine().embed(img, f));
  for (const auto& x : t) {
    ASSERT_EQ(x.values.size(), 512u);
    double n = 0;
    for (float v : x.values) n += v * v;
    EXPECT_NEAR(n, 1.0, 1e-4);
  }
  EXPECT_EQ(engine().embed(img, faces[0]).values, t[0].values);
  const auto& rec = engine().recognizer();
  // Four different people: every pair below the same/different threshold.
  for (std::size_t i = 0; i < t.size(); ++i)
    for (std::size_t j = i + 1; j < t.size(); ++j)
      EXPECT_LT(rec.compare(t[i], t[j]), rec.threshold());
  // The same person at 60 % size, re-detected: well above the threshold.
  cv::Mat small;
  cv::resize(img, small, {}, 0.6, 0.6, cv::INTER_AREA);
  const auto sf = engine().analyze(small);
  ASSERT_EQ(sf.size(), 4u);
  double best = -1;
  for (const auto& f : sf) best = std::max(best, rec.compare(t[0], engine().embed(small, f)));
  EXPECT_GT(best, 0.8);
  // Templates of another model or size are refused, not compared.
  lc::Template other = t[0];
  other.model_id = "another";
  EXPECT_THROW(rec.compare(t[0], other), lc::Error);
  other = t[0];
  other.values.resize(128);
  EXPECT_THROW(rec.compare(t[0], other), lc::Error);
}
