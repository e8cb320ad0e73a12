// libFuzzer target: the enrolment CSV parser (src/store/enrol_csv.hpp), which reads files
// that come from outside (`laneface enrol --csv`). Seeds: tests/fuzz/seeds/fuzz_enrol_csv/.
//
// Contract checked, beyond "no crash, no sanitizer report":
//   - the only exception is core::Error(kInvalidInput) (the file as a whole is unreadable);
//   - every kept row holds a valid document: number 1-32 letters/digits, a three-letter
//     country, a name of 1-200 characters, a date of birth from 1900 on, no admitted-until
//     date for a US citizen, a portrait path; no two kept rows hold the same document;
//   - kept rows and rejected rows have distinct data lines (>= 2, increasing) with a message;
//   - the report serialises to JSON (`laneface enrol` prints it), whatever bytes the rows held.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "core/error.hpp"
#include "store/clock.hpp"
#include "store/enrol_csv.hpp"

namespace lc = laneface::core;
namespace ls = laneface::store;

namespace {

[[noreturn]] void contract_broken(const char* what) {
  std::fprintf(stderr, "fuzz_enrol_csv: contract broken: %s\n", what);
  std::abort();
}

void check(const ls::EnrolCsv& csv) {
  std::set<std::string> keys;
  std::set<std::size_t> lines;
  std::size_t last = 0;
  for (const auto& row : csv.rows) {
    const auto& d = row.document;
    if (row.line < 2 || row.line <= last) contract_broken("kept row lines not increasing from 2");
    last = row.line;
    lines.insert(row.line);
    if (d.number.empty() || d.number.size() > 32) contract_broken("number length");
    for (const unsigned char c : d.number)
      if (!std::isalnum(c)) contract_broken("number character");
    if (d.country.size() != 3) contract_broken("country length");
    if (d.holder_name.empty() || d.holder_name.size() > 200) contract_broken("name length");
    if (d.date_of_birth.year() < std::chrono::year(1900) || !d.date_of_birth.ok())
      contract_broken("date of birth");
    if (d.citizenship == ls::Citizenship::kUs && d.admitted_until)
      contract_broken("admitted_until on a US document");
    if (row.portrait.empty()) contract_broken("empty portrait");
    if (!keys.insert(ls::describe(d.key())).second) contract_broken("duplicate document kept");
  }
  last = 0;
  for (const auto& e : csv.errors) {
    if (e.line < 2 || e.line <= last) contract_broken("error lines not increasing from 2");
    last = e.line;
    if (e.message.empty()) contract_broken("empty error message");
    if (!lines.insert(e.line).second) contract_broken("a line both kept and rejected");
  }
  try {
    (void)csv.errors_json().dump();
  } catch (const std::exception&) {
    contract_broken("errors_json() does not serialise (invalid UTF-8 echoed?)");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Half the inputs also see an "already enrolled" check, as `laneface enrol` runs it.
  ls::EnrolCsvChecks checks;
  if (size % 2) {
    checks.already_enrolled = [](const ls::DocumentKey& k) { return k.number.size() % 3 == 0; };
    checks.portrait_exists = [](const std::string& p) { return p.size() % 5 != 0; };
  }
  try {
    check(ls::parse_enrol_csv(text, "fuzz.csv", checks));
  } catch (const lc::Error& e) {
    if (e.kind() != lc::ErrorKind::kInvalidInput) contract_broken("error of another kind");
  } catch (...) {
    contract_broken("an exception other than core::Error");
  }
  return 0;
}
