// Galleries loaded from the store, and the in-process retention schedule dropping purged
// templates from them (issue 5: "US-citizen encounter data older than the window is gone,
// including from the search index; non-US data stays; audit entries exist").
#include "match/store_gallery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "store/retention_schedule.hpp"
#include "unit/store/store_fixture.hpp"

namespace laneface::store::test {
namespace {

using match::EncounterPolicy;

std::set<Id> ids_in(const match::Gallery& g) {
  std::set<Id> out;
  for (const auto& c : g.search(make_template(4, 1), 100)) out.insert(c.entry.template_id);
  return out;
}

class StoreGalleryTest : public StoreTest {
 protected:
  // A US and a non-US document with portraits, one crossing whose first two occupants were
  // matched to them and whose third was matched to nobody; each occupant has an encounter
  // photo and template, captured at 08:00.
  void SetUp() override {
    StoreTest::SetUp();
    store_ = open();
    store_->register_model("m4", 4);
    us_ = store_->enrol(passport("US1", Citizenship::kUs), make_template(4, 1), "enrol");
    non_us_ = store_->enrol(passport("MX1", Citizenship::kNonUs), make_template(4, 2), "enrol");
    Crossing c;
    c.lane = "lane-1";
    c.port = "anzalduas";
    c.time = clock_->now();
    c.occupants = {{0, 1, "driver", CaptureStatus::kCaptured, {}},
                   {0, 1, "front_passenger", CaptureStatus::kCaptured, {}},
                   {0, 2, "left", CaptureStatus::kCaptured, {}}};
    crossing_ = store_->record_crossing(c, "lane");
    const Id subjects[] = {us_.subject_id, non_us_.subject_id};
    for (int i = 0; i < 2; ++i) {
      MatchDecision m;
      m.occupant_id = crossing_.occupants[i].id;
      m.outcome = MatchOutcome::kMatched;
      m.subject_id = subjects[i];
      m.model_id = "m4";
      store_->record_match(m, "matcher");
    }
    for (int i = 0; i < 3; ++i) {
      const Id o = crossing_.occupants[i].id;
      photos_.push_back(store_->add_encounter_photo(o, Bytes{1, 2, 3}, "lane"));
      encounters_.push_back(store_->add_template({TemplateOwnerKind::kEncounter, o},
                                                 make_template(4, 3 + i), "lane"));
    }
  }

  Id portrait(const Document& d) {
    for (const auto& t : store_->load_templates("m4", "test"))
      if (t.document_id == d.id) return t.id;
    ADD_FAILURE() << "no portrait";
    return 0;
  }

  std::unique_ptr<Store> store_;
  Document us_, non_us_;
  Crossing crossing_;
  std::vector<Id> photos_, encounters_;
};

TEST_F(StoreGalleryTest, LoadTemplatesResolvesSubjectsDocumentsAndCitizenship) {
  const auto all = store_->load_templates("m4", "test");
  ASSERT_EQ(all.size(), 5u);
  for (const auto& t : all) {
    if (t.id == encounters_[0]) {
      EXPECT_EQ(t.subject_id, us_.subject_id);
      EXPECT_EQ(t.citizenship, Citizenship::kUs);
      EXPECT_EQ(t.document_id, 0);
    } else if (t.id == encounters_[1]) {
      EXPECT_EQ(t.subject_id, non_us_.subject_id);
      EXPECT_EQ(t.citizenship, Citizenship::kNonUs);
    } else if (t.id == encounters_[2]) {
      EXPECT_EQ(t.subject_id, 0);
      EXPECT_FALSE(t.citizenship);
    } else if (t.document_id == us_.id) {
      EXPECT_EQ(t.subject_id, us_.subject_id);
      EXPECT_EQ(t.citizenship, Citizenship::kUs);
    } else {
      EXPECT_EQ(t.document_id, non_us_.id);
      EXPECT_EQ(t.subject_id, non_us_.subject_id);
      EXPECT_EQ(t.citizenship, Citizenship::kNonUs);
    }
  }
}

TEST_F(StoreGalleryTest, PortAndVehicleGalleriesHoldWhatTheIssueSays) {
  // Port gallery: both portraits and the non-US traveller's encounter; never the US
  // citizen's encounter or the unidentified occupant's.
  const auto port = match::load_gallery(*store_, "m4", 4, match::Metric::kInnerProduct, "test");
  EXPECT_EQ(ids_in(port), (std::set<Id>{portrait(us_), portrait(non_us_), encounters_[1]}));
  for (const auto& c : port.search(make_template(4, 1), 10)) {
    if (c.entry.template_id == encounters_[1]) {
      EXPECT_EQ(c.entry.kind, match::EntryKind::kEncounter);
      EXPECT_EQ(c.entry.subject_id, non_us_.subject_id);
      EXPECT_EQ(c.entry.document_id, 0);
    } else {
      EXPECT_EQ(c.entry.kind, match::EntryKind::kDocument);
      EXPECT_NE(c.entry.document_id, 0);
    }
  }
  const auto templates = store_->load_templates("m4", "test");
  match::StoreGalleryOptions none;
  none.encounters = EncounterPolicy::kNone;
  EXPECT_EQ(ids_in(match::build_gallery(templates, "m4", 4, match::Metric::kL2, none)),
            (std::set<Id>{portrait(us_), portrait(non_us_)}));
  const Id read_at_lane[] = {us_.id};
  EXPECT_EQ(
      ids_in(match::build_vehicle_gallery(templates, "m4", 4, match::Metric::kL2, read_at_lane)),
      (std::set<Id>{portrait(us_)}));
  // A gallery of another dimension refuses the store's templates.
  EXPECT_THROW(match::build_gallery(templates, "m4", 8, match::Metric::kL2), core::Error);
}

TEST_F(StoreGalleryTest, ScheduledRetentionPurgesUsEncountersFromStoreAndIndex) {
  match::StoreGalleryOptions all;
  all.encounters = EncounterPolicy::kAll;  // so that US encounter templates are indexed too
  for (const auto kind : {match::IndexKind::kExactFloat, match::IndexKind::kExactInt8}) {
    all.kind = kind;
    auto gallery = match::load_gallery(*store_, "m4", 4, match::Metric::kInnerProduct, "test", all);
    ASSERT_EQ(gallery.size(), 4u);  // two portraits, the US and the non-US encounter
  }
  all.kind = match::IndexKind::kExactFloat;
  auto gallery = match::load_gallery(*store_, "m4", 4, match::Metric::kInnerProduct, "test", all);

  std::size_t dropped = 0;
  RetentionSchedule schedule(
      *store_, clock_, std::chrono::hours(1), "retention schedule",
      [&](const RetentionReport& r) { dropped += match::drop_purged(gallery, r); });
  // The first tick runs at once (nothing is 12 h old yet); the next is due an hour later.
  auto report = schedule.tick();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->us.templates + report->us.photos, 0);
  EXPECT_FALSE(schedule.tick());
  clock_->advance(std::chrono::minutes(59));
  EXPECT_FALSE(schedule.tick());
  // 12 h 30 min after capture the hourly run has purged the US citizen's encounter.
  for (int h = 0; h < 12; ++h) {
    clock_->advance(std::chrono::minutes(60));
    schedule.tick();
  }
  EXPECT_EQ(schedule.runs(), 13u);
  EXPECT_EQ(dropped, 1u);  // the US encounter; the unidentified one was never indexed
  EXPECT_EQ(ids_in(gallery), (std::set<Id>{portrait(us_), portrait(non_us_), encounters_[1]}));
  // Gone from the store too: template and photo; the non-US traveller's data stays.
  std::set<Id> stored;
  for (const auto& t : store_->load_templates("m4", "test")) stored.insert(t.id);
  EXPECT_EQ(stored, (std::set<Id>{portrait(us_), portrait(non_us_), encounters_[1]}));
  EXPECT_THROW(store_->view_photo(photos_[0], "officer"), core::Error);
  EXPECT_THROW(store_->view_photo(photos_[2], "officer"), core::Error);
  EXPECT_EQ(store_->view_photo(photos_[1], "officer"), (Bytes{1, 2, 3}));
  // Every run left a purge entry with counts, and the chain verifies.
  AuditQuery q;
  q.action = "purge";
  const auto entries = store_->audit_entries(q);
  ASSERT_EQ(entries.size(), 13u);
  EXPECT_EQ(entries.back().actor, "retention schedule");
  EXPECT_TRUE(store_->verify_audit().ok);
}

TEST_F(StoreGalleryTest, ScheduleThreadRunsAndStops) {
  EXPECT_THROW(RetentionSchedule(*store_, clock_, std::chrono::milliseconds(0), "x"), core::Error);
  EXPECT_THROW(RetentionSchedule(*store_, nullptr, std::chrono::hours(1), "x"), core::Error);
  auto gallery = match::load_gallery(*store_, "m4", 4, match::Metric::kInnerProduct, "test");
  std::mutex m;
  RetentionSchedule schedule(*store_, clock_, std::chrono::hours(1), "retention schedule",
                             [&](const RetentionReport& r) {
                               std::lock_guard lock(m);  // searches would take it too
                               match::drop_purged(gallery, r);
                             });
  clock_->advance(std::chrono::hours(13));
  schedule.start(std::chrono::milliseconds(5));
  for (int i = 0; i < 400 && schedule.runs() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  schedule.stop();
  EXPECT_EQ(schedule.runs(), 1u);  // the fake clock did not move again
  EXPECT_FALSE(schedule.last_error());
  EXPECT_THROW(store_->view_photo(photos_[0], "officer"), core::Error);
}

}  // namespace
}  // namespace laneface::store::test
