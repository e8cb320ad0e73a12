#pragma once
// Parsing and validating an enrolment CSV (pure: no files read, nothing stored). Columns, in
// any order, with a header row:
//   number,type,country,name,date_of_birth,citizenship,admitted_until,portrait
// type is a DocumentType name (passport, visa, permanent_resident_card, passport_card,
// enhanced_licence); country an ICAO three-letter code; dates YYYY-MM-DD; citizenship US or
// non-US; admitted_until empty or a date (non-US only); portrait a path relative to the
// images folder. Rows with problems are reported with their line and left out; good rows
// are kept.
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/records.hpp"

namespace laneface::store {

struct EnrolRow {
  std::size_t line = 0;
  Document document;  // ids 0: not yet stored
  std::string portrait;
};

struct EnrolRowError {
  std::size_t line = 0;
  std::string message;  // names fields and values, never the holder's name
};

struct EnrolCsv {
  std::vector<EnrolRow> rows;
  std::vector<EnrolRowError> errors;
  nlohmann::json errors_json() const;  // [{"line": n, "error": "..."}]
};

// Optional checks against the world outside the file.
struct EnrolCsvChecks {
  std::function<bool(const DocumentKey&)> already_enrolled;  // e.g. Store::find_document
  std::function<bool(const std::string&)> portrait_exists;   // e.g. the file under --images
};

// Throws core::Error(kInvalidInput) naming `name` (and the line) when the file as a whole
// cannot be read as the enrolment table: empty, a missing column, an unterminated quote, a
// row with the wrong number of fields.
EnrolCsv parse_enrol_csv(const std::string& text, const std::string& name,
                         const EnrolCsvChecks& checks = {});

}  // namespace laneface::store
