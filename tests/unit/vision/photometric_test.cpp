#include "vision/photometric.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/error.hpp"

namespace lv = laneface::vision;

namespace {

// A neutral scene: gray background, whole-image channel means equal.
cv::Mat neutral_scene() {
  cv::Mat img(96, 96, CV_8UC3, cv::Scalar::all(120));
  // A skin-toned "face" with a ramp across it, and a bluish "shirt" the same size that balances it.
  for (int y = 32; y < 64; ++y) {
    for (int x = 32; x < 64; ++x) {
      const int d = (x - 32) * 3 - 40;
      img.at<cv::Vec3b>(y, x) = {uchar(100 + d), uchar(120 + d), uchar(140 + d)};
      img.at<cv::Vec3b>(y + 32, x) = {uchar(140 + d), uchar(120 + d), uchar(100 + d)};
    }
  }
  return img;
}

cv::Scalar channel_means(const cv::Mat& m) { return cv::mean(m); }

const cv::Rect kFace(32, 32, 32, 32);

}  // namespace

TEST(Photometric, ParsesEveryModeAndRejectsOthers) {
  for (auto m : {lv::Normalise::kNone, lv::Normalise::kGrayWorld, lv::Normalise::kStretch,
                 lv::Normalise::kGrayWorldStretch}) {
    EXPECT_EQ(lv::parse_normalise(lv::to_string(m)), m);
  }
  EXPECT_THROW(lv::parse_normalise("greyworld"), laneface::core::Error);
  EXPECT_THROW(lv::parse_normalise(""), laneface::core::Error);
}

TEST(Photometric, GrayWorldUndoesAWindshieldCast) {
  const cv::Mat neutral = neutral_scene();
  const cv::Scalar n = channel_means(neutral);
  ASSERT_NEAR(n[0], n[2], 1.0);
  // The simulator's green glass: B x0.92, G x1, R x0.88 (the strongest cast of `realistic`).
  cv::Mat cast;
  cv::multiply(neutral, cv::Scalar(0.92, 1.0, 0.88), cast);
  const cv::Scalar c = channel_means(cast);
  ASSERT_GT(c[1] - c[2], 10.0);
  const cv::Mat out = lv::normalise_photometric(cast, kFace, lv::Normalise::kGrayWorld);
  const cv::Scalar o = channel_means(out);
  const double gray = (o[0] + o[1] + o[2]) / 3;
  for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(o[ch], gray, 1.0) << "channel " << ch;
  // Per pixel, the face comes back to within 3 levels of the uncast face (up to a common scale).
  const double scale = gray / ((n[0] + n[1] + n[2]) / 3);
  cv::Mat want, diff;
  neutral.convertTo(want, CV_32FC3, scale);
  out.convertTo(diff, CV_32FC3);
  cv::absdiff(diff, want, diff);
  double worst = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
  EXPECT_LE(worst, 3.0);
}

TEST(Photometric, GrayWorldGainsAreClamped) {
  // A really red scene: made less red, never gray (gain at most 1.25 per channel).
  const cv::Mat red(20, 20, CV_8UC3, cv::Scalar(40, 40, 200));
  const cv::Mat out = lv::normalise_photometric(red, {0, 0, 20, 20}, lv::Normalise::kGrayWorld);
  const cv::Scalar o = channel_means(out);
  EXPECT_NEAR(o[0], 50, 1.0);
  EXPECT_NEAR(o[2], 160, 1.0);
}

TEST(Photometric, StretchMapsTheFaceRangeToTheFullRange) {
  // A dark, hazy face (the ramp squeezed into [60, 140]) regains its range; hue is kept.
  cv::Mat face(40, 40, CV_8UC3);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 40; ++x) {
      const uchar v = cv::saturate_cast<uchar>(60 + x * 80 / 39);
      face.at<cv::Vec3b>(y, x) = {v, v, v};
    }
  }
  const cv::Mat out = lv::normalise_photometric(face, {0, 0, 40, 40}, lv::Normalise::kStretch);
  double lo = 0, hi = 0;
  cv::minMaxLoc(out.reshape(1), &lo, &hi);
  EXPECT_LE(lo, 8);
  EXPECT_GE(hi, 247);
  const auto p = out.at<cv::Vec3b>(20, 20);
  EXPECT_EQ(p[0], p[1]);
  EXPECT_EQ(p[1], p[2]);
}

TEST(Photometric, StretchGainIsClampedOnAFlatRegion) {
  // A nearly flat region (range < 8 levels) is left alone; a dark low-contrast one gains at most
  // 4x.
  cv::Mat flat(30, 30, CV_8UC3, cv::Scalar::all(100));
  flat(cv::Rect(0, 0, 15, 30)).setTo(cv::Scalar::all(104));
  const cv::Mat same = lv::normalise_photometric(flat, {0, 0, 30, 30}, lv::Normalise::kStretch);
  EXPECT_EQ(cv::norm(same, flat, cv::NORM_INF), 0.0);
  cv::Mat dark(30, 30, CV_8UC3, cv::Scalar::all(20));
  dark(cv::Rect(0, 0, 15, 30)).setTo(cv::Scalar::all(40));
  const cv::Mat out = lv::normalise_photometric(dark, {0, 0, 30, 30}, lv::Normalise::kStretch);
  EXPECT_EQ(out.at<cv::Vec3b>(0, 29), cv::Vec3b::all(0));  // the black point
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b::all(80));  // (40 - 20) x 4
}

TEST(Photometric, AGrayImageIsUnchanged) {
  // A gray image with full range: neither gray world nor the stretch has anything to do.
  cv::Mat gray(32, 256, CV_8UC3);
  for (int y = 0; y < gray.rows; ++y) {
    for (int x = 0; x < gray.cols; ++x) gray.at<cv::Vec3b>(y, x) = cv::Vec3b::all(uchar(x));
  }
  for (auto m : {lv::Normalise::kNone, lv::Normalise::kGrayWorld, lv::Normalise::kStretch,
                 lv::Normalise::kGrayWorldStretch}) {
    const cv::Mat out = lv::normalise_photometric(gray, {0, 0, 256, 32}, m);
    cv::Mat d;
    cv::absdiff(out, gray, d);
    double worst = 0;
    cv::minMaxLoc(d.reshape(1), nullptr, &worst);
    EXPECT_LE(worst, 3.0) << lv::to_string(m);
  }
}

TEST(Photometric, DegenerateInputsPassThroughSafely) {
  for (auto m :
       {lv::Normalise::kGrayWorld, lv::Normalise::kStretch, lv::Normalise::kGrayWorldStretch}) {
    EXPECT_TRUE(lv::normalise_photometric(cv::Mat(), {0, 0, 1, 1}, m).empty());
    const cv::Mat one(1, 1, CV_8UC3, cv::Scalar(10, 20, 30));
    const cv::Mat o1 = lv::normalise_photometric(one, {0, 0, 1, 1}, m);
    ASSERT_EQ(o1.size(), one.size());
    if (m == lv::Normalise::kStretch) {
      EXPECT_EQ(o1.at<cv::Vec3b>(0, 0), one.at<cv::Vec3b>(0, 0));
    }
    const cv::Mat black(8, 8, CV_8UC3, cv::Scalar::all(0));
    const cv::Mat ob = lv::normalise_photometric(black, {0, 0, 8, 8}, m);
    EXPECT_EQ(cv::countNonZero(ob.reshape(1)), 0);
    // A face box outside the image: the stretch has nothing to measure.
    const cv::Mat img = neutral_scene();
    const cv::Mat oo = lv::normalise_photometric(img, {500, 500, 10, 10}, lv::Normalise::kStretch);
    EXPECT_EQ(cv::norm(oo, img, cv::NORM_INF), 0.0);
  }
  const cv::Mat f(4, 4, CV_32FC3, cv::Scalar::all(0.5));
  EXPECT_THROW(lv::normalise_photometric(f, {0, 0, 4, 4}, lv::Normalise::kStretch),
               laneface::core::Error);
}
