#include "store/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "store/sqlite/migrations.hpp"
#include "store_fixture.hpp"

namespace laneface::store::test {
namespace {

using core::Error;
using core::ErrorKind;

// Raw access to the database file, as someone with the file (not the API) would have.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

template <class F>
Error expect_error(F&& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e;
  }
  ADD_FAILURE() << "no error thrown";
  return Error(ErrorKind::kInternal, "");
}

bool contains(const std::string& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

Crossing three_occupants() {
  Crossing c;
  c.lane = "lane-3";
  c.port = "anzalduas";
  c.direction = Direction::kEntry;
  c.time = at("2024-05-01T07:59:00Z");
  c.occupants = {{0, 1, "driver", CaptureStatus::kCaptured, {}},
                 {0, 1, "front_passenger", CaptureStatus::kCaptured, {}},
                 {0, 2, "left", CaptureStatus::kCaptured, {}}};
  return c;
}

TEST_F(StoreTest, MigratesFromEmptyAndReopensWithoutReapplying) {
  open().reset();
  open().reset();
  RawDb raw(db_);
  EXPECT_EQ(raw.text("SELECT COUNT(*) FROM schema_version"),
            std::to_string(sqlite::migrations().size()));
  EXPECT_EQ(raw.text("SELECT MAX(version) FROM schema_version"),
            std::to_string(sqlite::migrations().size()));
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  for (const char* table :
       {"subjects", "documents", "templates", "crossings", "occupants", "encounter_photos",
        "match_decisions", "officer_decisions", "audit_log", "models"}) {
    EXPECT_EQ(
        raw.text(std::string("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '") +
                 table + "'"),
        table);
  }
}

TEST_F(StoreTest, RefusesADatabaseFromANewerBuild) {
  open().reset();
  RawDb(db_).exec("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
  const auto e = expect_error([&] { open(); }, ErrorKind::kConfig);
  EXPECT_TRUE(contains(e.what(), "schema version 999")) << e.what();
}

TEST_F(StoreTest, DocumentsAndTemplatesRoundTripEncrypted) {
  const std::string marker = "LANEFACE-PLAINTEXT-PHOTO-MARKER-0123456789";
  std::string photo;
  for (int i = 0; i < 8; ++i) photo += marker;
  const auto tmpl = make_template(64, 1000.5f, "m64");
  {
    auto store = open();
    store->register_model("m64", 64);
    const Document d = store->enrol(passport("X1234567", Citizenship::kNonUs), tmpl, "test");
    EXPECT_GT(d.id, 0);
    EXPECT_GT(d.subject_id, 0);
    const auto found = store->find_document(d.key());
    ASSERT_TRUE(found);
    EXPECT_EQ(found->holder_name, "Holder X1234567");
    EXPECT_EQ(found->date_of_birth, parse_date("1980-02-29"));
    EXPECT_EQ(found->admitted_until, parse_date("2030-01-01"));
    EXPECT_EQ(found->citizenship, Citizenship::kNonUs);
    const auto loaded = store->load_templates("m64", "test");
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].value.values, tmpl.values);
    EXPECT_EQ(loaded[0].owner.kind, TemplateOwnerKind::kDocument);
    EXPECT_EQ(loaded[0].owner.id, d.id);

    const Crossing c = store->record_crossing(three_occupants(), "lane-3");
    ASSERT_EQ(c.occupants.size(), 3u);
    const auto bytes =
        std::span(reinterpret_cast<const unsigned char*>(photo.data()), photo.size());
    const Id pid = store->add_encounter_photo(c.occupants[0].id, bytes, "lane-3");
    const Bytes back = store->view_photo(pid, "officer-7");
    EXPECT_EQ(std::string(back.begin(), back.end()), photo);
    const auto found_crossing = store->find_crossing(c.id);
    ASSERT_TRUE(found_crossing);
    EXPECT_EQ(found_crossing->occupants.size(), 3u);
    EXPECT_EQ(found_crossing->occupants[2].seat, "left");
    EXPECT_TRUE(store->verify_audit().ok);
  }
  // Closing checkpoints the WAL into the main file; neither holds the plaintext.
  std::string raw = file_bytes(db_);
  if (std::filesystem::exists(db_.string() + "-wal")) raw += file_bytes(db_.string() + "-wal");
  ASSERT_GT(raw.size(), 0u);
  EXPECT_FALSE(contains(raw, marker));
  const std::string_view template_bytes(reinterpret_cast<const char*>(tmpl.values.data()),
                                        16 * sizeof(float));
  EXPECT_FALSE(contains(raw, template_bytes));
  EXPECT_TRUE(contains(raw, "X1234567"));  // sanity: the scan sees plain columns
}

TEST_F(StoreTest, WrongKeyFailsClearlyAndNoKeyIsNamed) {
  {
    auto store = open();
    store->register_model("m4", 4);
    store->enrol(passport("A1", Citizenship::kUs), make_template(4, 1), "test");
  }
  const auto e =
      expect_error([&] { open_store(config(Key::parse(std::string(64, 'b'), "other key"))); },
                   ErrorKind::kConfig);
  EXPECT_TRUE(contains(e.what(), "other key")) << e.what();
  EXPECT_TRUE(contains(e.what(), db_.string())) << e.what();
  auto keyless = open_store(config(std::nullopt));
  EXPECT_TRUE(keyless->find_document({DocumentType::kPassport, "A1", "USA"}));
  const auto e2 = expect_error([&] { keyless->load_templates("m4", "test"); }, ErrorKind::kConfig);
  EXPECT_TRUE(contains(e2.what(), "LANEFACE_KEY")) << e2.what();
}

TEST_F(StoreTest, KeyRotationReencryptsEverythingAndIsAudited) {
  const auto new_key = Key::parse(std::string(64, 'c'), "new key");
  const auto tmpl = make_template(4, 3);
  Id pid = 0;
  {
    auto store = open();
    store->register_model("m4", 4);
    store->enrol(passport("A1", Citizenship::kUs), tmpl, "test");
    const Crossing c = store->record_crossing(three_occupants(), "lane");
    const Bytes photo{1, 2, 3, 4, 5};
    pid = store->add_encounter_photo(c.occupants[1].id, photo, "lane");
    store->add_template({TemplateOwnerKind::kEncounter, c.occupants[1].id}, make_template(4, 9),
                        "lane");
    store->rotate_key(new_key, "admin");
    EXPECT_EQ(store->view_photo(pid, "officer"), photo);
  }
  expect_error([&] { open(); }, ErrorKind::kConfig);
  auto store = open_store(config(new_key));
  const auto loaded = store->load_templates("m4", "test");
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].value.values, tmpl.values);
  EXPECT_EQ(store->view_photo(pid, "officer"), (Bytes{1, 2, 3, 4, 5}));
  EXPECT_TRUE(store->verify_audit().ok);
  RawDb raw(db_);
  EXPECT_EQ(raw.text("SELECT details FROM audit_log WHERE action = 'key_rotate'"),
            R"({"photos":1,"templates":2})");
}

TEST_F(StoreTest, WrongDimensionTemplateIsRefusedAndNothingIsStored) {
  auto store = open();
  store->register_model("m4", 4);
  const Document kept =
      store->enrol(passport("KEEP1", Citizenship::kUs), make_template(4, 1), "test");
  const auto before = store->stats();
  const auto e = expect_error(
      [&] { store->enrol(passport("BAD1", Citizenship::kNonUs), make_template(3, 1), "test"); },
      ErrorKind::kInvalidInput);
  EXPECT_TRUE(contains(e.what(), "'m4' has dimension 3, the model makes 4")) << e.what();
  expect_error(
      [&] {
        store->enrol(passport("BAD2", Citizenship::kUs), make_template(4, 1, "unknown"), "t");
      },
      ErrorKind::kInvalidInput);
  expect_error([&] { store->register_model("m4", 8); }, ErrorKind::kInvalidInput);
  EXPECT_FALSE(store->find_document({DocumentType::kPassport, "BAD1", "MEX"}));
  EXPECT_TRUE(store->find_document(kept.key()));
  const auto after = store->stats();
  EXPECT_EQ(after.documents, before.documents);
  EXPECT_EQ(after.subjects, before.subjects);
  EXPECT_EQ(after.templates, before.templates);
  EXPECT_EQ(after.audit_entries, before.audit_entries);
  EXPECT_TRUE(store->verify_audit().ok);
}

TEST_F(StoreTest, DuplicateDocumentIsRefusedAndTheFirstKept) {
  auto store = open();
  const Document first = store->enrol(passport("D1", Citizenship::kUs), std::nullopt, "test");
  Document again = passport("D1", Citizenship::kUs);
  again.holder_name = "Someone Else";
  const auto e =
      expect_error([&] { store->enrol(again, std::nullopt, "test"); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(contains(e.what(), "passport D1 (USA) is already enrolled")) << e.what();
  EXPECT_EQ(store->find_document(first.key())->holder_name, "Holder D1");
  EXPECT_EQ(store->stats().documents, 1);
}

TEST_F(StoreTest, EveryAuditedApiWritesOneEntry) {
  auto store = open();
  store->register_model("m4", 4);
  const Document d =
      store->enrol(passport("E1", Citizenship::kNonUs), make_template(4, 1), "enroller");
  const Crossing c = store->record_crossing(three_occupants(), "lane");
  MatchDecision m;
  m.occupant_id = c.occupants[0].id;
  m.outcome = MatchOutcome::kMatched;
  m.document_id = d.id;
  m.score = 0.71;
  m.gallery = Gallery::kVehicle;
  m.model_id = "m4";
  store->record_match(m, "matcher");
  store->record_officer_decision(
      {0, c.occupants[2].id, "officer-7", OfficerOutcome::kReferred, {}, "hat"}, "officer-7");
  store->record_event(
      {"matcher", "search", "occupant:" + std::to_string(c.occupants[1].id), {{"candidates", 5}}});
  const auto exported = store->export_crossing(c.id, "auditor");
  ASSERT_EQ(exported.matches.size(), 1u);
  EXPECT_EQ(exported.matches[0].subject_id, d.subject_id);
  EXPECT_EQ(exported.officer_decisions.size(), 1u);
  EXPECT_EQ(exported.crossing.occupants[0].subject_id, d.subject_id);
  store->run_retention(clock_->now(), "retention");
  RawDb raw(db_);
  EXPECT_EQ(
      raw.text("SELECT group_concat(action, ',') FROM (SELECT action FROM audit_log ORDER BY seq)"),
      "enrol,crossing,match,officer_decision,search,export,purge");
  const auto v = store->verify_audit();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 7);
}

class AuditTamper : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto store = open();
    for (int i = 0; i < 5; ++i)
      store->record_event({"tester", "search", "occupant:" + std::to_string(i), {{"i", i}}});
    ASSERT_TRUE(store->verify_audit().ok);
  }
  AuditVerification verify() { return open()->verify_audit(); }
};

TEST_F(AuditTamper, TheApiCannotEditOrDeleteEntries) {
  RawDb raw(db_);
  EXPECT_NE(raw.exec("UPDATE audit_log SET actor = 'x' WHERE seq = 2"), SQLITE_OK);
  EXPECT_NE(raw.exec("DELETE FROM audit_log WHERE seq = 2"), SQLITE_OK);
  EXPECT_TRUE(verify().ok);
}

TEST_F(AuditTamper, EditedRowIsDetected) {
  RawDb raw(db_);
  ASSERT_EQ(raw.exec("DROP TRIGGER audit_log_no_update"), SQLITE_OK);
  ASSERT_EQ(raw.exec(R"(UPDATE audit_log SET details = '{"i":99}' WHERE seq = 3)"), SQLITE_OK);
  const auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 3);
  EXPECT_TRUE(contains(v.problem, "edited")) << v.problem;
}

TEST_F(AuditTamper, DeletedRowIsDetected) {
  RawDb raw(db_);
  ASSERT_EQ(raw.exec("DROP TRIGGER audit_log_no_delete"), SQLITE_OK);
  ASSERT_EQ(raw.exec("DELETE FROM audit_log WHERE seq = 2"), SQLITE_OK);
  const auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2);
  EXPECT_TRUE(contains(v.problem, "missing")) << v.problem;
}

TEST_F(AuditTamper, DeletedLastRowIsDetected) {
  RawDb raw(db_);
  ASSERT_EQ(raw.exec("DROP TRIGGER audit_log_no_delete"), SQLITE_OK);
  ASSERT_EQ(raw.exec("DELETE FROM audit_log WHERE seq = 5"), SQLITE_OK);
  const auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5);
}

TEST_F(AuditTamper, ReorderedRowsAreDetected) {
  RawDb raw(db_);
  ASSERT_EQ(raw.exec("DROP TRIGGER audit_log_no_update"), SQLITE_OK);
  ASSERT_EQ(raw.exec("UPDATE audit_log SET seq = -seq WHERE seq IN (2, 3)"), SQLITE_OK);
  ASSERT_EQ(raw.exec("UPDATE audit_log SET seq = 5 + seq WHERE seq IN (-2, -3)"),
            SQLITE_OK);  // 2<->3
  const auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 2);
}

TEST_F(StoreTest, RetentionPurgesUsEncounterDataAfterTheWindowAndKeepsNonUs) {
  auto store = open();
  store->register_model("m4", 4);
  const Document us = store->enrol(passport("US1", Citizenship::kUs), make_template(4, 1), "enrol");
  const Document non_us =
      store->enrol(passport("MX1", Citizenship::kNonUs), make_template(4, 2), "enrol");
  const Crossing c = store->record_crossing(three_occupants(), "lane");
  const Id subjects[] = {us.subject_id, non_us.subject_id};
  for (int i = 0; i < 2; ++i) {
    MatchDecision m;
    m.occupant_id = c.occupants[i].id;
    m.outcome = MatchOutcome::kMatched;
    m.subject_id = subjects[i];
    m.model_id = "m4";
    store->record_match(m, "matcher");
  }
  std::vector<Id> photos, templates;
  for (const auto& o : c.occupants) {  // US, non-US, unknown (matched to nobody)
    photos.push_back(store->add_encounter_photo(o.id, Bytes{7, 7, 7}, "lane"));
    templates.push_back(
        store->add_template({TemplateOwnerKind::kEncounter, o.id}, make_template(4, 5), "lane"));
  }
  clock_->advance(std::chrono::hours(11));
  auto report = store->run_retention(clock_->now(), "retention");
  EXPECT_EQ(report.us.photos + report.non_us.photos + report.unknown.photos, 0);
  EXPECT_EQ(store->stats().photos, 3);

  clock_->advance(std::chrono::hours(2));  // 13 h after capture
  report = store->run_retention(clock_->now(), "retention");
  EXPECT_EQ(report.us.photos, 1);
  EXPECT_EQ(report.us.templates, 1);
  EXPECT_EQ(report.unknown.photos, 1);
  EXPECT_EQ(report.unknown.templates, 1);
  EXPECT_EQ(report.non_us.photos, 0);
  EXPECT_EQ(report.non_us.templates, 0);
  EXPECT_EQ(report.deleted_template_ids, (std::vector<Id>{templates[0], templates[2]}));
  expect_error([&] { store->view_photo(photos[0], "officer"); }, ErrorKind::kNotFound);
  EXPECT_EQ(store->view_photo(photos[1], "officer"), (Bytes{7, 7, 7}));
  const auto stats = store->stats();
  EXPECT_EQ(stats.photos, 1);
  EXPECT_EQ(stats.templates, 3);  // two document portraits and the non-US encounter template
  {
    RawDb raw(db_);
    const std::string details =
        raw.text("SELECT details FROM audit_log WHERE action = 'purge' ORDER BY seq DESC");
    const auto j = nlohmann::json::parse(details);
    EXPECT_EQ(j["deleted"]["US"]["photos"], 1);
    EXPECT_EQ(j["deleted"]["unknown"]["templates"], 1);
    EXPECT_EQ(j["deleted"]["non-US"]["photos"], 0);
    EXPECT_FALSE(j.contains("deleted_template_ids"));
  }

  clock_->advance(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::years(76)));
  report = store->run_retention(clock_->now(), "retention");
  EXPECT_EQ(report.non_us.photos, 1);
  EXPECT_EQ(report.non_us.templates, 1);
  EXPECT_EQ(store->stats().templates, 2);  // document portraits are not encounter data
  EXPECT_TRUE(store->verify_audit().ok);
}

TEST_F(StoreTest, KeyFilesOfTheWrongSizeAreClearErrors) {
  const auto write = [&](const std::string& name, const std::string& bytes) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  };
  const std::string raw(32, '\x11');
  const Key a = load_key_file(write("raw.key", raw));
  EXPECT_EQ(std::memcmp(a.data(), raw.data(), 32), 0);
  const Key b = load_key_file(write("hex.key", std::string(64, 'f') + "\n"));
  EXPECT_EQ(b.data()[0], 0xff);
  for (const auto& bad :
       {std::string(31, 'x'), std::string(33, 'x'), std::string(63, 'a'), std::string(64, 'z')}) {
    const auto path = write("bad.key", bad);
    const auto e = expect_error([&] { load_key_file(path); }, ErrorKind::kConfig);
    EXPECT_TRUE(contains(e.what(), path.string())) << e.what();
    EXPECT_TRUE(contains(e.what(), "32 raw bytes or 64 hex")) << e.what();
  }
  expect_error([&] { load_key_file(dir_ / "absent.key"); }, ErrorKind::kNotFound);
  ::setenv("LANEFACE_KEY", std::string(64, '0').c_str(), 1);
  EXPECT_EQ(key_from_env()->source(), "LANEFACE_KEY");
  ::setenv("LANEFACE_KEY", "short", 1);
  expect_error([] { key_from_env(); }, ErrorKind::kConfig);
  ::unsetenv("LANEFACE_KEY");
  EXPECT_FALSE(key_from_env());
}

TEST(StoreClock, ParsesAndFormatsIso8601) {
  EXPECT_EQ(format_time(*parse_time("2024-05-01T12:34:56.789Z")), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(*parse_time("2024-05-01T14:00:00+02:00"), *parse_time("2024-05-01T12:00Z"));
  EXPECT_EQ(*parse_time("2024-05-01"), *parse_time("2024-05-01T00:00:00Z"));
  for (const char* bad :
       {"2023-02-29", "2024-05-01T25:00", "2024-5-1", "2024-05-01T12:00:00Zjunk", ""}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
  EXPECT_FALSE(parse_date("2023-02-29"));
  EXPECT_TRUE(parse_date("2024-02-29"));
}

}  // namespace
}  // namespace laneface::store::test
