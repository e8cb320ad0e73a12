// Best-shot candidates: the crop a detection is judged and submitted as, and the cheap gate on
// it (src/capture/best_shot.hpp). Drawn faces with known landmarks: no models needed.
#include "capture/best_shot.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "unit/quality/default_assessor.hpp"
#include "unit/quality/synthetic_face.hpp"

namespace lc = laneface::capture;
namespace lq = laneface::quality;
namespace lt = laneface::test;

namespace {

const lq::Assessor& assessor() { return lt::default_assessor(); }

double yaw_of(const lq::QualityReport& r) {
  const auto* m = r.find("HeadPoseYaw");
  EXPECT_TRUE(m && m->raw);
  return m && m->raw ? *m->raw : std::nan("");
}

}  // namespace

TEST(BestShotCrop, WidensTheBoxByItsSizeAndMovesTheLandmarks) {
  const auto s = lt::synthetic_face({1280, 720}, {640, 360}, 30);
  const auto c = lc::shot_crop(s.image, s.face);
  const auto& b = s.face.box;
  EXPECT_NEAR(c.image.cols, 3 * b.width(), 2.0);
  EXPECT_NEAR(c.image.rows, 3 * b.height(), 2.0);
  // The face sits one box size in from the crop's corner, landmarks shifted alike.
  EXPECT_NEAR(c.face.box.x1, b.width(), 1.0);
  EXPECT_NEAR(c.face.box.y1, b.height(), 1.0);
  ASSERT_TRUE(c.face.landmarks68);
  const float dx = c.face.box.x1 - b.x1, dy = c.face.box.y1 - b.y1;
  for (int i : {0, 36, 45, 57}) {
    EXPECT_FLOAT_EQ((*c.face.landmarks68)[i].x, (*s.face.landmarks68)[i].x + dx);
    EXPECT_FLOAT_EQ((*c.face.landmarks68)[i].y, (*s.face.landmarks68)[i].y + dy);
  }
  // The pixels are the frame's.
  const cv::Point p(int(b.x1 + b.width() / 2), int(b.y1 + b.height() / 2));
  EXPECT_EQ(c.image.at<cv::Vec3b>(p.y - int(b.y1) + int(c.face.box.y1),
                                  p.x - int(b.x1) + int(c.face.box.x1)),
            s.image.at<cv::Vec3b>(p));
}

TEST(BestShotCrop, IsClippedAtTheFrameBorder) {
  const auto s = lt::synthetic_face({1280, 720}, {60, 80}, 30);
  const auto c = lc::shot_crop(s.image, s.face);
  const auto& b = s.face.box;
  EXPECT_LT(c.image.cols, 3 * b.width());
  EXPECT_NEAR(c.face.box.x1, b.x1, 1e-3);  // the crop starts at the frame's left edge
  EXPECT_NEAR(c.face.box.y1, b.y1, 1e-3);
}

// A frontal face near a 1280x720 frame's edge: the landmark pose fitted in the frame reads a
// turned head, the same face in its crop (the submitted image) a frontal one. The cheap gate
// on the crop gives the yaw the full assessment of the crop will give.
TEST(BestShotCheap, OnTheCropAgreesWithTheFullAssessmentOfTheCrop) {
  const auto s = lt::synthetic_face({1280, 720}, {150, 360}, 30);
  const auto c = lc::shot_crop(s.image, s.face);
  const std::vector<laneface::core::Face> frame_faces{s.face}, crop_faces{c.face};
  const auto on_frame = lc::assess_cheap(assessor(), s.image, frame_faces, 0, "lane-capture");
  const auto on_crop = lc::assess_cheap(assessor(), c.image, crop_faces, 0, "lane-capture");
  const double full = yaw_of(assessor().assess(c.image, crop_faces, 0, lq::Scope::kAll));
  EXPECT_NEAR(on_crop.abs_yaw, std::abs(full), 1e-3);
  EXPECT_NEAR(on_crop.abs_yaw, 0, 3.0);
  EXPECT_GT(on_frame.abs_yaw, on_crop.abs_yaw + 10);
  EXPECT_NEAR(on_crop.ied, 30, 0.5);
  EXPECT_NEAR(on_frame.ied, 30, 0.5);
  // The centred face: frame and crop agree.
  const auto m = lt::synthetic_face({1280, 720}, {640, 360}, 30);
  const auto mc = lc::shot_crop(m.image, m.face);
  const auto mid_frame =
      lc::assess_cheap(assessor(), m.image, std::vector{m.face}, 0, "lane-capture");
  const auto mid_crop =
      lc::assess_cheap(assessor(), mc.image, std::vector{mc.face}, 0, "lane-capture");
  EXPECT_NEAR(mid_frame.abs_yaw, mid_crop.abs_yaw, 2.0);
}
