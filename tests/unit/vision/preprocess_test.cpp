#include "vision/preprocess.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

namespace lv = laneface::vision;

TEST(Preprocess, SimilarityTransformRecoversAKnownTransform) {
  const double angle = 0.3, scale = 1.7, tx = 12.5, ty = -4.0;
  const std::vector<cv::Point2f> from{{10, 20}, {50, 22}, {31, 45}, {15, 70}, {48, 69}};
  std::vector<cv::Point2f> to;
  for (const auto& p : from) {
    to.emplace_back(scale * (std::cos(angle) * p.x - std::sin(angle) * p.y) + tx,
                    scale * (std::sin(angle) * p.x + std::cos(angle) * p.y) + ty);
  }
  const cv::Matx23d m = lv::similarity_transform(from, to);
  EXPECT_NEAR(m(0, 0), scale * std::cos(angle), 1e-6);
  EXPECT_NEAR(m(1, 0), scale * std::sin(angle), 1e-6);
  EXPECT_NEAR(m(0, 2), tx, 1e-4);
  EXPECT_NEAR(m(1, 2), ty, 1e-4);
}

TEST(Preprocess, SimilarityTransformRejectsDegeneratePoints) {
  const std::vector<cv::Point2f> same{{1, 1}, {1, 1}};
  EXPECT_ANY_THROW(lv::similarity_transform(same, same));
  const std::vector<cv::Point2f> one{{1, 1}};
  EXPECT_ANY_THROW(lv::similarity_transform(one, one));
}

TEST(Preprocess, LetterboxMapsPointsBackToTheSource) {
  cv::Mat img(1080, 1920, CV_8UC3, cv::Scalar(0, 0, 0));
  const cv::Rect roi(400, 300, 800, 600);
  const auto in = lv::letterbox(img, roi, {320, 240}, cv::Scalar::all(127));
  EXPECT_EQ(in.image.size(), cv::Size(320, 240));
  EXPECT_NEAR(in.transform.scale(), 0.4, 1e-9);
  const cv::Point2f p = in.transform.to_source({100, 50});
  EXPECT_NEAR(p.x, 400 + 100 / 0.4, 1e-3);
  EXPECT_NEAR(p.y, 300 + 50 / 0.4, 1e-3);
  // Aspect ratio kept: a 4:3 region fills the 4:3 input; a square one leaves padding.
  const auto sq = lv::letterbox(img, {0, 0, 500, 500}, {320, 240}, cv::Scalar::all(127));
  EXPECT_EQ(sq.image.at<cv::Vec3b>(120, 300), cv::Vec3b(127, 127, 127));
  EXPECT_EQ(sq.image.at<cv::Vec3b>(120, 100), cv::Vec3b(0, 0, 0));
}

TEST(Preprocess, AlignPutsLandmarksOnTheTemplate) {
  // Draw five dots, rotate and scale the image, align back, and find the dots on the template.
  const std::vector<cv::Point2f> tmpl{
      {38.3f, 51.7f}, {73.5f, 51.5f}, {56.0f, 71.7f}, {41.5f, 92.4f}, {70.7f, 92.2f}};
  cv::Mat img(900, 1200, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::Matx23d place = cv::getRotationMatrix2D_({56, 72}, 25, 4.5);
  place(0, 2) += 500;
  place(1, 2) += 300;
  std::vector<cv::Point2f> pts;
  for (const auto& t : tmpl) {
    const cv::Point2f p(place(0, 0) * t.x + place(0, 1) * t.y + place(0, 2),
                        place(1, 0) * t.x + place(1, 1) * t.y + place(1, 2));
    pts.push_back(p);
    cv::circle(img, p, 9, cv::Scalar(255, 255, 255), cv::FILLED);
  }
  const auto aligned = lv::align(img, pts, tmpl, {112, 112});  // 4.5x reduction: pyrDown path
  ASSERT_EQ(aligned.image.size(), cv::Size(112, 112));
  for (const auto& t : tmpl) {
    EXPECT_GT(aligned.image.at<cv::Vec3b>(cvRound(t.y), cvRound(t.x))[0], 150) << t;
  }
  const cv::Point2f back = aligned.transform.to_source(tmpl[2]);
  EXPECT_NEAR(back.x, pts[2].x, 0.05);
  EXPECT_NEAR(back.y, pts[2].y, 0.05);
}

TEST(Preprocess, BlobFollowsChannelOrderMeanAndScale) {
  cv::Mat img(2, 3, CV_8UC3, cv::Scalar(10, 20, 30));  // B=10, G=20, R=30
  lv::InputSpec rgb{"in", 3, 2, lv::ChannelOrder::kRgb, {1, 2, 3}, 0.5};
  const cv::Mat blob = lv::to_blob(img, rgb);
  ASSERT_EQ(blob.size[1], 3);
  EXPECT_FLOAT_EQ(blob.ptr<float>(0, 0)[0], (30 - 1) * 0.5f);  // R first
  EXPECT_FLOAT_EQ(blob.ptr<float>(0, 2)[0], (10 - 3) * 0.5f);  // B last
  lv::InputSpec gray{"in", 3, 2, lv::ChannelOrder::kGray, {0}, 1.0};
  EXPECT_EQ(lv::to_blob(img, gray).size[1], 1);
  lv::InputSpec wrong{"in", 4, 4, lv::ChannelOrder::kBgr, {0, 0, 0}, 1.0};
  EXPECT_ANY_THROW(lv::to_blob(img, wrong));
}
