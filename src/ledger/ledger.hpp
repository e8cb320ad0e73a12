#pragma once
// The entry/exit ledger: links each subject's identified crossings into stays (entry → exit)
// and answers "did this person leave?" as reports. Reads crossings and decisions through the
// Store; never photos or templates. Every report is audited as an export (one entry with its
// parameters and row count, never the rows).
//
// Days are UTC calendar days (the store keeps UTC times). A departure is *confirmed* when an
// exit crossing's occupant was biometrically matched to the subject (a 'matched' decision);
// an occupant identified only by an officer counts for linking but not as a confirmation.
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace laneface::ledger {

using store::Date;

// One stay of a subject: an entry and the exit that closed it. No entry: an exit whose entry
// was never recorded. No exit: still inside, or the exit was not recorded.
struct Stay {
  store::Id subject_id = 0;
  std::optional<store::Passage> entry;
  std::optional<store::Passage> exit;
};

// Per subject in time order: an entry opens a stay, the next exit closes it; a second entry
// closes an open stay without an exit; an exit with no open stay is a stay without entry.
// Requires `passages` ordered by time (as Store::passages returns them). Result ordered by
// subject, then time.
std::vector<Stay> link_stays(std::span<const store::Passage> passages);

struct DepartureCount {
  Date day{};
  std::string port;
  std::int64_t departures = 0;
};

struct DeparturesReport {
  Date from{}, to{};                 // inclusive
  std::vector<DepartureCount> rows;  // by day, then port
  std::int64_t total() const;
};

struct Overstay {
  store::Id subject_id = 0;
  store::DocumentKey document;  // the document with the latest admitted-until date
  Date admitted_until{};
  std::int64_t days_over = 0;                // as_of - admitted_until
  std::optional<store::Passage> last_entry;  // none recorded: entered elsewhere
};

struct OverstaysReport {
  Date as_of{};
  std::vector<Overstay> rows;  // by subject
};

struct UnmatchedExitsReport {
  std::optional<Date> from, to;      // inclusive; none: unbounded
  std::vector<store::Passage> rows;  // by time
};

class Ledger {
 public:
  // `actor` names who asks, for the audit entries. The store must outlive the ledger.
  Ledger(store::Store& store, std::string actor);

  // Confirmed departures per day and port for days from..to. Throws
  // core::Error(kInvalidInput) when from is after to.
  DeparturesReport departures(Date from, Date to) const;
  // Non-US subjects (no US document) whose latest admitted-until date is before `as_of`
  // with no confirmed departure after their last entry up to the end of `as_of`.
  OverstaysReport overstays(Date as_of) const;
  // Identified exits within from..to whose subject has no earlier open entry.
  UnmatchedExitsReport unmatched_exits(std::optional<Date> from, std::optional<Date> to) const;

 private:
  void audit(const std::string& report, nlohmann::json details) const;

  store::Store& store_;
  std::string actor_;
};

nlohmann::json to_json(const DeparturesReport& report);
nlohmann::json to_json(const OverstaysReport& report);
nlohmann::json to_json(const UnmatchedExitsReport& report);

// CSV with a header row: RFC 4180 quoting, LF line ends.
std::string to_csv(const DeparturesReport& report);
std::string to_csv(const OverstaysReport& report);
std::string to_csv(const UnmatchedExitsReport& report);

}  // namespace laneface::ledger
