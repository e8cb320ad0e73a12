#pragma once
// RFC 4180 CSV with a header row: quoted fields, doubled quotes, CRLF or LF. Every error names
// the file and line. Rows keep their line numbers so callers can report per-row problems.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace laneface::core {

struct CsvRow {
  std::size_t line = 0;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string name;  // file name, for messages
  std::vector<std::string> header;
  std::vector<CsvRow> rows;

  // Index of a header column. Throws Error(kInvalidInput) naming the file and column.
  std::size_t column(const std::string& name) const;
};

// Throws Error(kNotFound) when the file is missing; Error(kInvalidInput) for an empty file, an
// unterminated quote, a row with a different number of fields than the header, or a file
// over `max_bytes`.
CsvTable read_csv(const std::filesystem::path& path, std::size_t max_bytes = 256u << 20);
CsvTable parse_csv(const std::string& text, const std::string& name);

}  // namespace laneface::core
