// Bulk enrolment on face crops of the MIT sample photos (var/samples): good rows are stored
// with templates of the configured recognizer; each kind of bad row (bad field, missing or
// unreadable portrait, no face, portrait failing the profile, document already enrolled) is
// reported with its line; what was stored before is untouched.
#include "ledger/enrol.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../unit/store/store_fixture.hpp"
#include "core/image_io.hpp"
#include "support/test_support.hpp"

namespace laneface::ledger {
namespace {

namespace lt = laneface::test;
using store::Citizenship;

// The sample photos are group shots: no face in them meets the ICAO-style `document` profile,
// so the test checks a profile of its own with one requirement the crops meet or fail on
// purpose (the profile check itself is the quality module's to test).
constexpr const char* kProfile = "enrol-test";

const vision::FaceEngine& engine() {
  static const vision::FaceEngine e = [] {
    vision::EngineOptions options;
    options.manifest = lt::manifest_path();
    return vision::FaceEngine(options);
  }();
  return e;
}

const quality::Assessor& assessor() {
  static const quality::Assessor a = [] {
    auto config = quality::QualityConfig::load(lt::source_root() / "config" / "quality.toml");
    config.profiles[kProfile] = {
        kProfile, "enrolment test", {{"InterEyeDistance", quality::Bound::kMin, 40}}};
    return quality::Assessor(config);  // no eye or pose model: InterEyeDistance needs neither
  }();
  return a;
}

// The main face of a sample photo with a margin of half its size, as a portrait-like crop.
cv::Mat face_crop(int sample) {
  const cv::Mat img = core::read_image(lt::sample_image(sample));
  const auto faces = engine().analyze(img, {.min_face = 40});
  const auto k = vision::face_of_interest(faces, img.size());
  EXPECT_TRUE(k.has_value()) << "sample " << sample;
  if (!k) return {};
  const auto& b = faces[*k].box;
  const cv::Rect box(cv::Point(int(b.x1 - b.width() / 2), int(b.y1 - b.height() / 2)),
                     cv::Point(int(b.x2 + b.width() / 2), int(b.y2 + b.height() / 2)));
  return img(box & cv::Rect(0, 0, img.cols, img.rows)).clone();
}

class EnrolTest : public store::test::StoreTest {};

TEST_F(EnrolTest, KeepsGoodRowsReportsBadOnesWithLinesAndLosesNothing) {
  LANEFACE_REQUIRE_MODELS();
  const auto images = dir_ / "images";
  std::filesystem::create_directories(images);
  for (int s : {3, 5, 6})
    cv::imwrite((images / ("face" + std::to_string(s) + ".png")).string(), face_crop(s));
  cv::Mat small;
  cv::resize(face_crop(3), small, {}, 0.3, 0.3, cv::INTER_AREA);  // a face, eyes too close
  cv::imwrite((images / "small.png").string(), small);
  cv::imwrite((images / "wall.png").string(), cv::Mat(300, 240, CV_8UC3, cv::Scalar(90, 140, 160)));
  std::ofstream(images / "broken.jpg") << "not a JPEG at all";

  // Stored before the run: a document with its template.
  auto store = open();
  const auto& recognizer = engine().recognizer();
  store->register_model(recognizer.model_id(), int(recognizer.template_size()));
  const auto before_template =
      store::test::make_template(int(recognizer.template_size()), 0.5f, recognizer.model_id());
  const auto before =
      store->enrol(store::test::passport("P0", Citizenship::kNonUs), before_template, "test");

  const auto csv = dir_ / "people.csv";
  std::ofstream(csv)
      << "number,type,country,name,date_of_birth,citizenship,admitted_until,portrait\n"
         "G1,passport,MEX,Ana Uno,1980-01-01,non-US,2030-01-01,face3.png\n"  // 2 good
         "B1,passport,MEX,Bad Date,1980-13-01,non-US,,face5.png\n"           // 3 bad date
         "G2,visa,CAN,Bo Dos,1975-05-05,non-US,2025-06-30,face5.png\n"       // 4 good
         "B2,passport,USA,No File,1970-01-01,US,,missing.png\n"              // 5 not found
         "B3,passport,USA,Broken,1970-01-01,US,,broken.jpg\n"                // 6 unreadable
         "B4,passport,USA,Wall,1970-01-01,US,,wall.png\n"                    // 7 no face
         "B5,passport,USA,Small,1970-01-01,US,,small.png\n"                  // 8 profile
         "P0,passport,MEX,Again,1980-02-29,non-US,,face6.png\n"              // 9 enrolled
         "G3,passport_card,USA,Cy Tres,2001-12-31,US,,face6.png\n";          // 10 good

  std::vector<std::pair<std::size_t, std::size_t>> progress;
  EnrolOptions options;
  options.profile = kProfile;
  options.threads = 2;
  options.min_face = 20;
  options.progress = [&](std::size_t done, std::size_t total) {
    progress.emplace_back(done, total);
  };
  const auto report = enrol_documents(*store, csv, images, engine(), &assessor(), options);

  EXPECT_EQ(report.enrolled, 3u);
  std::map<std::size_t, std::string> errors;
  for (const auto& e : report.errors) errors[e.line] = e.message;
  ASSERT_EQ(errors.size(), 6u) << report.to_json().dump(1);
  EXPECT_NE(errors[3].find("date_of_birth '1980-13-01'"), std::string::npos) << errors[3];
  EXPECT_NE(errors[5].find("portrait 'missing.png' not found"), std::string::npos) << errors[5];
  EXPECT_NE(errors[6].find("portrait 'broken.jpg' is unreadable"), std::string::npos) << errors[6];
  EXPECT_NE(errors[7].find("portrait 'wall.png': no face found"), std::string::npos) << errors[7];
  EXPECT_NE(errors[8].find("fails the 'enrol-test' profile: inter-eye distance"), std::string::npos)
      << errors[8];
  EXPECT_NE(errors[9].find("already enrolled"), std::string::npos) << errors[9];
  for (const auto& [line, message] : errors) {
    EXPECT_EQ(message.find("Bad Date"), std::string::npos) << "a holder's name in: " << message;
  }
  const auto json = report.to_json();
  EXPECT_EQ(json["enrolled"], 3);
  EXPECT_EQ(json["rejected"], 6);
  EXPECT_EQ(json["errors"][0]["line"], 3);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(),
            std::make_pair(std::size_t(6), std::size_t(6)));  // rows past the CSV checks

  // Good rows: stored, each with one template of the recognizer.
  std::map<store::Id, core::Template> by_document;
  for (auto& t : store->load_templates(recognizer.model_id(), "test")) {
    ASSERT_EQ(t.owner.kind, store::TemplateOwnerKind::kDocument);
    by_document[t.owner.id] = std::move(t.value);
  }
  EXPECT_EQ(by_document.size(), 4u);
  for (const auto& [number, country] : {std::pair{"G1", "MEX"}, {"G2", "CAN"}, {"G3", "USA"}}) {
    const auto type = std::string(number) == "G2"   ? store::DocumentType::kVisa
                      : std::string(number) == "G3" ? store::DocumentType::kPassportCard
                                                    : store::DocumentType::kPassport;
    const auto doc = store->find_document({type, number, country});
    ASSERT_TRUE(doc) << number;
    ASSERT_TRUE(by_document.count(doc->id)) << number;
    EXPECT_EQ(by_document[doc->id].values.size(), recognizer.template_size());
  }
  // Nothing stored before was lost or changed.
  const auto kept = store->find_document(before.key());
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->holder_name, before.holder_name);
  EXPECT_EQ(by_document[before.id].values, before_template.values);
  EXPECT_EQ(store->stats().documents, 4);
  EXPECT_TRUE(store->verify_audit().ok);
}

}  // namespace
}  // namespace laneface::ledger
