// The ledger on a store filled through the Store API with a fake clock: departures per day and
// port, overstays, exits without entry, CSV output, and an audit entry per report.
#include "ledger/ledger.hpp"

#include "../store/store_fixture.hpp"
#include "core/csv.hpp"
#include "core/error.hpp"

namespace laneface::ledger {
namespace {

using store::Citizenship;
using store::Direction;
using store::MatchOutcome;
using store::parse_date;
using store::test::at;

class LedgerTest : public store::test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_ = open();
  }

  // A document holder (non-US: admitted until `until`); returns the subject id.
  store::Id enrol(const std::string& number, Citizenship c, const char* until = nullptr) {
    auto d = store::test::passport(number, c);
    if (until) d.admitted_until = parse_date(until);
    return store_->enrol(d, std::nullopt, "test").subject_id;
  }

  // A crossing whose occupants are the given subjects (0: nobody identified), each matched
  // biometrically unless `officer` (then confirmed by an officer only).
  store::Crossing cross(Direction dir, const char* time, const std::string& port,
                        std::vector<store::Id> subjects, bool officer = false) {
    store::Crossing c;
    c.lane = "lane-1";
    c.port = port;
    c.direction = dir;
    c.time = at(time);
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      c.occupants.push_back({0, 1, i == 0 ? "driver" : "front_passenger",
                             store::CaptureStatus::kCaptured, std::nullopt});
    }
    c = store_->record_crossing(c, "test");
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      const auto occupant = c.occupants[i].id;
      if (subjects[i] == 0) {
        store_->record_match({0, occupant, MatchOutcome::kNotMatched, {}, {}, 0.1, {}, "m", 0.5},
                             "test");
      } else if (officer) {
        store_->record_officer_decision(
            {0, occupant, "officer-7", store::OfficerOutcome::kConfirmed, subjects[i], ""}, "test");
      } else {
        store_->record_match({0,
                              occupant,
                              MatchOutcome::kMatched,
                              subjects[i],
                              {},
                              0.9,
                              store::Gallery::kVehicle,
                              "m",
                              0.5},
                             "test");
      }
    }
    return c;
  }

  Ledger ledger() { return Ledger(*store_, "ledger test"); }
  std::unique_ptr<store::Store> store_;
};

Date day(const char* text) { return parse_date(text).value(); }

TEST_F(LedgerTest, CountsConfirmedDeparturesPerDayAndPort) {
  const auto a = enrol("A1", Citizenship::kNonUs), b = enrol("B1", Citizenship::kUs),
             c = enrol("C1", Citizenship::kNonUs);
  cross(Direction::kExit, "2024-05-01T10:00:00Z", "anzalduas", {a, b, 0});  // 2 confirmed
  cross(Direction::kExit, "2024-05-01T23:59:59Z", "hidalgo", {c});
  cross(Direction::kExit, "2024-05-02T00:00:00Z", "anzalduas", {c});
  cross(Direction::kExit, "2024-05-02T08:00:00Z", "anzalduas", {a},
        /*officer=*/true);                                             // not biometric
  cross(Direction::kEntry, "2024-05-02T09:00:00Z", "anzalduas", {b});  // entry
  cross(Direction::kExit, "2024-05-03T09:00:00Z", "anzalduas", {b});   // outside the range

  const auto report = ledger().departures(day("2024-05-01"), day("2024-05-02"));
  ASSERT_EQ(report.rows.size(), 3u);
  EXPECT_EQ(store::format_date(report.rows[0].day), "2024-05-01");
  EXPECT_EQ(report.rows[0].port, "anzalduas");
  EXPECT_EQ(report.rows[0].departures, 2);
  EXPECT_EQ(report.rows[1].port, "hidalgo");
  EXPECT_EQ(report.rows[1].departures, 1);
  EXPECT_EQ(store::format_date(report.rows[2].day), "2024-05-02");
  EXPECT_EQ(report.rows[2].departures, 1);
  EXPECT_EQ(report.total(), 4);
  EXPECT_EQ(to_json(report)["total"], 4);

  EXPECT_THROW(ledger().departures(day("2024-05-02"), day("2024-05-01")), core::Error);
}

TEST_F(LedgerTest, DetectsAnOverstayButNotADepartedTraveller) {
  const auto stayed = enrol("S1", Citizenship::kNonUs, "2024-03-01");
  const auto left = enrol("L1", Citizenship::kNonUs, "2024-03-01");
  const auto valid = enrol("V1", Citizenship::kNonUs, "2024-12-31");
  const auto us = enrol("U1", Citizenship::kUs);
  const auto officer_only = enrol("O1", Citizenship::kNonUs, "2024-03-01");
  const auto reentered = enrol("R1", Citizenship::kNonUs, "2024-03-01");
  // A later document of the same subject extends the admission.
  auto extended = store::test::passport("E2", Citizenship::kNonUs);
  const auto renewed = enrol("E1", Citizenship::kNonUs, "2024-03-01");
  extended.subject_id = renewed;
  extended.type = store::DocumentType::kVisa;
  extended.admitted_until = parse_date("2024-09-01");
  store_->enrol(extended, std::nullopt, "test");

  cross(Direction::kEntry, "2024-01-10T12:00:00Z", "anzalduas",
        {stayed, left, valid, us, officer_only, reentered, renewed});
  cross(Direction::kExit, "2024-02-20T12:00:00Z", "hidalgo", {left, reentered});
  cross(Direction::kExit, "2024-02-21T12:00:00Z", "hidalgo", {officer_only}, /*officer=*/true);
  cross(Direction::kEntry, "2024-02-25T12:00:00Z", "anzalduas", {reentered});

  const auto report = ledger().overstays(day("2024-04-01"));
  std::vector<store::Id> subjects;
  for (const auto& r : report.rows) subjects.push_back(r.subject_id);
  EXPECT_EQ(subjects, (std::vector<store::Id>{stayed, officer_only, reentered}));
  ASSERT_FALSE(report.rows.empty());
  const auto& first = report.rows.front();
  EXPECT_EQ(first.document.number, "S1");
  EXPECT_EQ(first.days_over, 31);
  ASSERT_TRUE(first.last_entry);
  EXPECT_EQ(store::format_time(first.last_entry->time), "2024-01-10T12:00:00.000Z");
  EXPECT_EQ(store::format_time(report.rows.back().last_entry->time), "2024-02-25T12:00:00.000Z");

  // On the admitted-until day itself nobody is over yet.
  EXPECT_TRUE(ledger().overstays(day("2024-03-01")).rows.empty());
}

TEST_F(LedgerTest, ReportsAnExitWithNoPriorEntry) {
  const auto a = enrol("A1", Citizenship::kNonUs), b = enrol("B1", Citizenship::kNonUs);
  cross(Direction::kEntry, "2024-04-01T10:00:00Z", "anzalduas", {a});
  cross(Direction::kExit, "2024-05-01T10:00:00Z", "anzalduas", {a, b});  // b never entered
  cross(Direction::kExit, "2024-05-02T10:00:00Z", "hidalgo", {a});       // a already left
  cross(Direction::kExit, "2024-05-03T10:00:00Z", "hidalgo", {0});       // nobody identified

  const auto all = ledger().unmatched_exits(std::nullopt, std::nullopt);
  ASSERT_EQ(all.rows.size(), 2u);
  EXPECT_EQ(all.rows[0].subject_id, b);
  EXPECT_EQ(all.rows[0].port, "anzalduas");
  EXPECT_EQ(all.rows[1].subject_id, a);
  EXPECT_EQ(all.rows[1].port, "hidalgo");
  EXPECT_TRUE(all.rows[1].biometric);

  const auto may2 = ledger().unmatched_exits(day("2024-05-02"), day("2024-05-02"));
  ASSERT_EQ(may2.rows.size(), 1u);
  EXPECT_EQ(may2.rows[0].subject_id, a);
  EXPECT_TRUE(ledger().unmatched_exits(std::nullopt, day("2024-04-30")).rows.empty());
}

TEST_F(LedgerTest, LinksStaysPerSubject) {
  const auto a = enrol("A1", Citizenship::kNonUs);
  cross(Direction::kEntry, "2024-04-01T10:00:00Z", "p", {a});
  cross(Direction::kEntry, "2024-04-05T10:00:00Z", "p", {a});  // the exit between was missed
  cross(Direction::kExit, "2024-04-09T10:00:00Z", "p", {a});
  const auto stays = link_stays(store_->passages(store::TimePoint::min(), store::TimePoint::max()));
  ASSERT_EQ(stays.size(), 2u);
  EXPECT_TRUE(stays[0].entry && !stays[0].exit);
  EXPECT_TRUE(stays[1].entry && stays[1].exit);
  EXPECT_EQ(store::format_time(stays[1].entry->time), "2024-04-05T10:00:00.000Z");
}

TEST_F(LedgerTest, CsvIsWellFormedEvenWithAwkwardPortNames) {
  const auto a = enrol("A1", Citizenship::kNonUs, "2024-03-01");
  const auto b = enrol("B1", Citizenship::kNonUs);
  cross(Direction::kEntry, "2024-01-01T10:00:00Z", "Port \"North\", TX", {a});
  cross(Direction::kExit, "2024-05-01T10:00:00Z", "Port \"North\", TX", {b});
  cross(Direction::kExit, "2024-05-01T11:00:00Z", "line\nbreak", {b});

  const auto departures = core::parse_csv(
      to_csv(ledger().departures(day("2024-05-01"), day("2024-05-01"))), "departures.csv");
  EXPECT_EQ(departures.header, (std::vector<std::string>{"day", "port", "departures"}));
  ASSERT_EQ(departures.rows.size(), 2u);
  EXPECT_EQ(departures.rows[0].fields,
            (std::vector<std::string>{"2024-05-01", "Port \"North\", TX", "1"}));
  EXPECT_EQ(departures.rows[1].fields[1], "line\nbreak");

  const auto overstays =
      core::parse_csv(to_csv(ledger().overstays(day("2024-04-01"))), "overstays.csv");
  ASSERT_EQ(overstays.rows.size(), 1u);
  const auto& row = overstays.rows[0].fields;
  EXPECT_EQ(row[overstays.column("document_number")], "A1");
  EXPECT_EQ(row[overstays.column("days_over")], "31");
  EXPECT_EQ(row[overstays.column("last_entry_port")], "Port \"North\", TX");

  const auto unmatched =
      core::parse_csv(to_csv(ledger().unmatched_exits(std::nullopt, std::nullopt)), "u.csv");
  ASSERT_EQ(unmatched.rows.size(), 2u);
  EXPECT_EQ(unmatched.rows[0].fields[unmatched.column("subject_id")], std::to_string(b));
}

TEST_F(LedgerTest, EachReportLeavesOneAuditEntryAndTheChainVerifies) {
  const auto before = store_->stats().audit_entries;
  ledger().departures(day("2024-05-01"), day("2024-05-02"));
  ledger().overstays(day("2024-05-01"));
  ledger().unmatched_exits(std::nullopt, std::nullopt);
  EXPECT_EQ(store_->stats().audit_entries, before + 3);
  EXPECT_TRUE(store_->verify_audit().ok);
}

}  // namespace
}  // namespace laneface::ledger
