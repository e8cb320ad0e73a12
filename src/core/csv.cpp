#include "core/csv.hpp"

#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace laneface::core {

std::size_t CsvTable::column(const std::string& col) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == col) return i;
  }
  throw Error(ErrorKind::kInvalidInput, name + ": no column '" + col + "' in the header");
}

CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable t{name, {}, {}};
  std::vector<std::vector<std::string>> records;
  std::vector<std::size_t> lines;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, field_started = false;
  std::size_t line = 1, record_line = 1;
  auto end_field = [&] {
    fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    if (!(fields.size() == 1 && fields[0].empty())) {  // skip blank lines
      records.push_back(std::move(fields));
      lines.push_back(record_line);
    }
    fields.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      record_line = ++line;
    } else {
      if (c == '\0')
        throw Error(ErrorKind::kInvalidInput,
                    name + ":" + std::to_string(line) + ": NUL byte in CSV text");
      field += c;
      field_started = true;
    }
  }
  if (quoted)
    throw Error(ErrorKind::kInvalidInput,
                name + ":" + std::to_string(record_line) + ": unterminated quoted field");
  if (field_started || !fields.empty()) end_record();
  if (records.empty())
    throw Error(ErrorKind::kInvalidInput, name + ": empty CSV file, expected a header row");
  t.header = std::move(records.front());
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != t.header.size()) {
      throw Error(ErrorKind::kInvalidInput,
                  name + ":" + std::to_string(lines[r]) + ": " + std::to_string(records[r].size()) +
                      " fields, the header has " + std::to_string(t.header.size()));
    }
    t.rows.push_back({lines[r], std::move(records[r])});
  }
  return t;
}

CsvTable read_csv(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorKind::kNotFound, path.string() + ": no such CSV file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (size > max_bytes) {
    throw Error(ErrorKind::kInvalidInput, path.string() + ": CSV file of " + std::to_string(size) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_csv(buf.str(), path.string());
}

}  // namespace laneface::core
