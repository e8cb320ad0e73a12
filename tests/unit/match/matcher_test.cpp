#include "match/matcher.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "match/calibration.hpp"

namespace lm = laneface::match;
using laneface::core::Error;
using laneface::core::ErrorKind;
using laneface::core::Template;

namespace {

constexpr std::size_t kDim = 32;

Template unit_template(unsigned seed, const std::string& model = "fr_feature") {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  Template t{model, std::vector<float>(kDim)};
  double ss = 0;
  for (auto& v : t.values) {
    v = normal(rng);
    ss += double(v) * v;
  }
  for (auto& v : t.values) v = float(v / std::sqrt(ss));
  return t;
}

lm::Calibration calibration(double threshold) {
  return {"fr_feature", 1e-4, threshold, 10000, "test", lm::kDefaultTargetFpir, {}};
}

}  // namespace

TEST(Gallery, RejectsOtherModelsAndDimensions) {
  lm::Gallery g("fr_feature", kDim, lm::Metric::kInnerProduct);
  g.add({1, 10, 100, lm::EntryKind::kDocument}, unit_template(1));
  try {
    g.add({2, 10, 0, lm::EntryKind::kEncounter}, unit_template(2, "dlib_resnet"));
    FAIL() << "a dlib_resnet template entered an fr_feature gallery";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("dlib_resnet"), std::string::npos) << e.what();
  }
  EXPECT_THROW(g.add({3, 10, 0, lm::EntryKind::kEncounter},
                     Template{"fr_feature", std::vector<float>(7, 0.1f)}),
               Error);
  EXPECT_THROW(g.add({1, 11, 101, lm::EntryKind::kDocument}, unit_template(4)),
               Error);  // template id taken
  EXPECT_THROW(g.search(unit_template(5, "dlib_resnet"), 1), Error);
  EXPECT_EQ(g.size(), 1u);
  const auto top = g.search(unit_template(1), 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].entry.document_id, 100);
  EXPECT_NEAR(top[0].score, 1.0, 1e-5);
  EXPECT_TRUE(g.remove(1));
  EXPECT_TRUE(g.search(unit_template(1), 1).empty());
}

TEST(Matcher, DecidesPerOccupantAndNeverRejects) {
  lm::Gallery vehicle("fr_feature", kDim, lm::Metric::kInnerProduct);
  lm::Gallery port("fr_feature", kDim, lm::Metric::kInnerProduct);
  vehicle.add({1, 10, 100, lm::EntryKind::kDocument},
              unit_template(1));  // document read at the lane
  port.add({1, 10, 100, lm::EntryKind::kDocument}, unit_template(1));
  port.add({2, 20, 0, lm::EntryKind::kEncounter}, unit_template(2));  // an earlier encounter
  const lm::Matcher matcher(calibration(0.6));
  const std::vector<std::optional<Template>> occupants{unit_template(1), unit_template(2),
                                                       unit_template(3), std::nullopt};
  const auto d = matcher.decide(occupants, vehicle, port);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].outcome, lm::Outcome::kMatched);  // 1:few hit
  EXPECT_EQ(d[0].gallery, lm::GalleryScope::kVehicle);
  EXPECT_EQ(d[0].match->entry.document_id, 100);
  EXPECT_FALSE(d[0].officer_referral());
  EXPECT_EQ(d[1].outcome, lm::Outcome::kMatched);  // 1:N hit
  EXPECT_EQ(d[1].gallery, lm::GalleryScope::kPort);
  EXPECT_EQ(d[1].match->entry.subject_id, 20);
  EXPECT_EQ(d[2].outcome, lm::Outcome::kNotMatched);  // stranger
  EXPECT_TRUE(d[2].officer_referral());
  EXPECT_FALSE(d[2].match);
  EXPECT_TRUE(d[2].best_score);
  EXPECT_EQ(d[3].outcome, lm::Outcome::kNotCaptured);
  EXPECT_TRUE(d[3].officer_referral());
  EXPECT_EQ(lm::to_string(d[3].outcome), "not_captured");
}

TEST(Matcher, EmptyVehicleGalleryFallsThroughToPort) {
  lm::Gallery vehicle("fr_feature", kDim, lm::Metric::kInnerProduct);
  lm::Gallery port("fr_feature", kDim, lm::Metric::kInnerProduct);
  port.add({7, 70, 700, lm::EntryKind::kDocument}, unit_template(7));
  const std::vector<std::optional<Template>> occupants{unit_template(7)};
  const auto d = lm::Matcher(calibration(0.6)).decide(occupants, vehicle, port);
  EXPECT_EQ(d[0].gallery, lm::GalleryScope::kPort);
  EXPECT_EQ(d[0].outcome, lm::Outcome::kMatched);
}

namespace {

// A unit template whose cosine with unit_template(base) is `cos` (to ~1e-6; the other part is
// a second random direction made orthogonal to it).
Template near(unsigned base, double cos, unsigned other) {
  const Template a = unit_template(base), b = unit_template(other);
  double ab = 0;
  for (std::size_t i = 0; i < kDim; ++i) ab += double(a.values[i]) * b.values[i];
  std::vector<double> o(kDim);
  double oo = 0;
  for (std::size_t i = 0; i < kDim; ++i) {
    o[i] = b.values[i] - ab * a.values[i];
    oo += o[i] * o[i];
  }
  Template t{"fr_feature", std::vector<float>(kDim)};
  const double sin = std::sqrt(1 - cos * cos);
  for (std::size_t i = 0; i < kDim; ++i) {
    t.values[i] = float(cos * a.values[i] + sin * o[i] / std::sqrt(oo));
  }
  return t;
}

}  // namespace

TEST(Matcher, OneTravellerIsOneOccupant) {
  // Documents 100 (traveller 10) and 200 (traveller 20) read at the lane; both in the port too.
  lm::Gallery vehicle("fr_feature", kDim, lm::Metric::kInnerProduct);
  lm::Gallery port("fr_feature", kDim, lm::Metric::kInnerProduct);
  for (lm::Gallery* g : {&vehicle, &port}) {
    g->add({1, 10, 100, lm::EntryKind::kDocument}, unit_template(1));
    g->add({2, 20, 200, lm::EntryKind::kDocument}, unit_template(2));
  }
  const lm::Matcher matcher(calibration(0.5));
  // Two occupants above the threshold on document 100: the higher score takes it, the other is
  // referred with a conflict, also in the port (its top there is traveller 10 again).
  {
    const std::vector<std::optional<Template>> occupants{near(1, 0.6, 11), near(1, 0.9, 12)};
    const auto d = matcher.decide(occupants, vehicle, port);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[1].outcome, lm::Outcome::kMatched);
    EXPECT_EQ(d[1].match->entry.document_id, 100);
    EXPECT_NEAR(d[1].match->score, 0.9, 1e-4);
    EXPECT_EQ(d[0].outcome, lm::Outcome::kNotMatched);
    EXPECT_TRUE(d[0].conflict);
    EXPECT_TRUE(d[0].officer_referral());
    EXPECT_NEAR(*d[0].best_score, 0.6, 1e-4);
    EXPECT_FALSE(d[1].conflict);
  }
  // An occupant whose top document went to a better match still takes its own next one above
  // the threshold: no conflict then.
  {
    Template both = unit_template(1);  // between 100 and 200: cosine about 0.7 with each
    const Template t1 = unit_template(1), t2 = unit_template(2);
    for (std::size_t i = 0; i < kDim; ++i) both.values[i] = t1.values[i] + t2.values[i];
    double nn = 0;
    for (const float v : both.values) nn += double(v) * v;
    for (auto& v : both.values) v = float(v / std::sqrt(nn));
    const std::vector<std::optional<Template>> occupants{both, near(1, 0.95, 13)};
    const auto d = matcher.decide(occupants, vehicle, port);
    EXPECT_EQ(d[1].match->entry.document_id, 100);
    ASSERT_EQ(d[0].outcome, lm::Outcome::kMatched);
    EXPECT_EQ(d[0].match->entry.document_id, 200);
    EXPECT_EQ(d[0].gallery, lm::GalleryScope::kVehicle);
    EXPECT_FALSE(d[0].conflict);
  }
  // No competition: the same decisions as searching each occupant alone.
  {
    const std::vector<std::optional<Template>> occupants{near(2, 0.7, 14), near(1, 0.55, 15),
                                                         std::nullopt};
    const auto d = matcher.decide(occupants, vehicle, port);
    EXPECT_EQ(d[0].match->entry.document_id, 200);
    EXPECT_EQ(d[1].match->entry.document_id, 100);
    EXPECT_EQ(d[2].outcome, lm::Outcome::kNotCaptured);
    EXPECT_FALSE(d[0].conflict || d[1].conflict || d[2].conflict);
  }
}

TEST(Matcher, TravellersWithoutASubjectAreTheirDocuments) {
  // Entries without a subject id (0): each document is its own traveller, so two occupants
  // each take their own document, and one document is still taken once.
  lm::Gallery vehicle("fr_feature", kDim, lm::Metric::kInnerProduct);
  const lm::Gallery port("fr_feature", kDim, lm::Metric::kInnerProduct);
  vehicle.add({1, 0, 100, lm::EntryKind::kDocument}, unit_template(1));
  vehicle.add({2, 0, 200, lm::EntryKind::kDocument}, unit_template(2));
  const lm::Matcher matcher(calibration(0.5));
  const auto d = matcher.decide(
      std::vector<std::optional<Template>>{near(1, 0.8, 21), near(2, 0.7, 22), near(1, 0.6, 23)},
      vehicle, port);
  ASSERT_EQ(d.size(), 3u);
  ASSERT_EQ(d[0].outcome, lm::Outcome::kMatched);
  EXPECT_EQ(d[0].match->entry.document_id, 100);
  ASSERT_EQ(d[1].outcome, lm::Outcome::kMatched);
  EXPECT_EQ(d[1].match->entry.document_id, 200);
  EXPECT_EQ(d[2].outcome, lm::Outcome::kNotMatched);
  EXPECT_TRUE(d[2].conflict);
  // Template-only entries (no subject, no document) are told apart by their template id.
  EXPECT_NE(lm::traveller_of({7, 0, 0, lm::EntryKind::kEncounter}),
            lm::traveller_of({8, 0, 0, lm::EntryKind::kEncounter}));
  EXPECT_EQ(lm::traveller_of({7, 5, 0, lm::EntryKind::kEncounter}),
            lm::traveller_of({9, 5, 300, lm::EntryKind::kDocument}));
}

TEST(Matcher, CalibrationOfAnotherModelIsAnError) {
  lm::Gallery g("dlib_resnet", kDim, lm::Metric::kL2);
  EXPECT_THROW(lm::Matcher(calibration(0.6)).decide({}, g, g), Error);
}

TEST(Calibration, FitsTheQuantileAndRoundTrips) {
  std::vector<double> impostor;
  for (int i = 0; i < 20000; ++i) impostor.push_back(i / 20000.0);  // 0 .. 0.99995
  const auto c = lm::fit_calibration("fr_feature", impostor, 1e-4, "uniform test scores");
  // 2 impostors may be accepted: the threshold is the third highest score.
  EXPECT_DOUBLE_EQ(c.threshold, 19997 / 20000.0);
  EXPECT_EQ(c.impostor_count, 20000u);
  const auto path = std::filesystem::temp_directory_path() / "laneface_match_calibration_test.toml";
  c.save(path);
  const auto back = lm::Calibration::load(path);
  EXPECT_EQ(back.model_id, "fr_feature");
  EXPECT_DOUBLE_EQ(back.threshold, c.threshold);
  EXPECT_DOUBLE_EQ(back.target_fmr, 1e-4);
  EXPECT_EQ(back.impostor_count, 20000u);
  EXPECT_EQ(back.source, "uniform test scores");
  std::ofstream(path) << "[calibration]\nmodel_id = \"fr_feature\"\ntarget_fmr = 2.0\n";
  EXPECT_THROW(lm::Calibration::load(path), Error);
  std::filesystem::remove(path);
  EXPECT_THROW(lm::Calibration::load(path), Error);
}

TEST(Calibration, TooFewImpostorsForTheTargetIsAnError) {
  std::vector<double> impostor(999, 0.1);
  try {
    lm::fit_calibration("fr_feature", impostor, 1e-3, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs at least 1000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lm::threshold_at_fmr({}, 1e-3), Error);
}
