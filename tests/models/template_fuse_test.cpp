// The fr_feature recognizer's fuse (the lane's multi-shot probe, lane.toml probe_shots):
// the shots' templates added L2-normalised and the sum normalised, as embed() fuses a chip
// and its mirror; compared with a third face exactly as that arithmetic says.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/image_io.hpp"
#include "support/test_support.hpp"

namespace lt = laneface::test;
namespace lc = laneface::core;

namespace {

double dot(const lc::Template& a, const lc::Template& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) s += double(a.values[i]) * b.values[i];
  return s;
}

}  // namespace

TEST(TemplateFuseModel, FrFeatureFusesShotsLikeAFaceAndItsMirror) {
  LANEFACE_REQUIRE_MODELS();
  const auto& engine = lt::shared_engine("fr_feature");
  const auto& rec = engine.recognizer();
  // Two shots of one face (the photo, and a blurred, darker copy) and another person's face.
  const cv::Mat img = lc::read_image(lt::sample_image(6));
  cv::Mat other;
  cv::GaussianBlur(img, other, {5, 5}, 1.5);
  other.convertTo(other, -1, 0.7, 0);
  const auto faces = engine.analyze(img);
  const auto faces2 = engine.analyze(other);
  ASSERT_GE(faces.size(), 2u);
  ASSERT_FALSE(faces2.empty());
  const auto a = rec.embed(img, faces[0]);
  // The same face in the second image: the detection whose box centre is nearest.
  std::size_t k = 0;
  double best = 1e18;
  for (std::size_t i = 0; i < faces2.size(); ++i) {
    const double d = cv::norm(faces2[i].box.center() - faces[0].box.center());
    if (d < best) best = d, k = i;
  }
  const auto a2 = rec.embed(other, faces2[k]);
  const auto b = rec.embed(img, faces[1]);

  const auto one = rec.fuse(std::vector<lc::Template>{a});
  ASSERT_EQ(one.values.size(), a.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) EXPECT_NEAR(one.values[i], a.values[i], 1e-6);

  const auto f = rec.fuse(std::vector<lc::Template>{a, a2});
  const auto g = rec.fuse(std::vector<lc::Template>{a2, a});
  EXPECT_EQ(f.model_id, a.model_id);
  EXPECT_NEAR(dot(f, f), 1.0, 1e-5);
  for (std::size_t i = 0; i < f.values.size(); ++i) EXPECT_NEAR(f.values[i], g.values[i], 1e-6);
  // Unit templates: (a + a2) / |a + a2|, so its score with b is (a.b + a2.b) / |a + a2| and
  // with a shot it is sqrt((1 + a.a2) / 2), never below the shots' own score.
  const double c = rec.compare(a, a2);
  EXPECT_GT(c, 0.5) << "the two shots of one face should match";
  EXPECT_NEAR(rec.compare(f, a), std::sqrt((1 + c) / 2), 1e-4);
  EXPECT_GE(rec.compare(f, a), c);
  EXPECT_NEAR(rec.compare(f, b), (rec.compare(a, b) + rec.compare(a2, b)) / std::sqrt(2 + 2 * c),
              1e-4);
}
