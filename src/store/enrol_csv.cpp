#include "store/enrol_csv.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/csv.hpp"
#include "store/clock.hpp"

namespace laneface::store {

namespace {

constexpr std::size_t kMaxNumber = 32;
constexpr std::size_t kMaxName = 200;

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool all_alnum(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

bool all_alpha(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
}

// A field value as an error message may echo it: valid UTF-8 kept, every invalid byte and
// control character shown as '?', at most `max` bytes. (Found by tests/fuzz/fuzz_enrol_csv: an
// invalid byte echoed into a message made the JSON report unprintable.)
std::string shown(const std::string& s, std::size_t max = 64) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < max) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
    bool ok = n > 0 && i + n <= s.size() && !(n == 2 && c < 0xc2) && c <= 0xf4;
    for (std::size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && n >= 3) {  // no overlong forms, no surrogates, nothing above U+10FFFF
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) && !(c == 0xf0 && c1 < 0x90) &&
           !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok || (n == 1 && (c < 0x20 || c == 0x7f))) {
      out += '?';
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return i < s.size() ? out + "..." : out;
}

}  // namespace

nlohmann::json EnrolCsv::errors_json() const {
  auto out = nlohmann::json::array();
  // Messages may quote file names or exception texts: keep the report printable as JSON.
  for (const auto& e : errors)
    out.push_back({{"line", e.line}, {"error", shown(e.message, std::string::npos)}});
  return out;
}

EnrolCsv parse_enrol_csv(const std::string& text, const std::string& name,
                         const EnrolCsvChecks& checks) {
  const core::CsvTable table = core::parse_csv(text, name);
  struct Columns {
    std::size_t number, type, country, holder, dob, citizenship, until, portrait;
  } const col{table.column("number"),         table.column("type"),
              table.column("country"),        table.column("name"),
              table.column("date_of_birth"),  table.column("citizenship"),
              table.column("admitted_until"), table.column("portrait")};
  EnrolCsv out;
  std::map<std::string, std::size_t> first_line;  // document key -> line of its kept row
  for (const auto& row : table.rows) {
    std::vector<std::string> problems;
    auto field = [&](std::size_t i) { return trim(row.fields[i]); };
    Document d;

    d.number = upper(field(col.number));
    if (d.number.empty() || d.number.size() > kMaxNumber || !all_alnum(d.number)) {
      problems.push_back("number '" + shown(d.number) + "' must be 1 to 32 letters and digits");
    }
    if (const auto type = parse_enum<DocumentType>(lower(field(col.type)))) {
      d.type = *type;
    } else {
      problems.push_back("type '" + shown(field(col.type)) +
                         "' is not one of passport, visa, permanent_resident_card, passport_card, "
                         "enhanced_licence");
    }
    d.country = upper(field(col.country));
    if (d.country.size() != 3 || !all_alpha(d.country)) {
      problems.push_back("country '" + shown(field(col.country)) +
                         "' must be a three-letter ICAO code");
    }
    d.holder_name = field(col.holder);
    if (d.holder_name.empty() || d.holder_name.size() > kMaxName) {
      problems.push_back("name must be 1 to 200 characters");
    }
    if (const auto dob = parse_date(field(col.dob));
        dob && dob->year() >= std::chrono::year(1900)) {
      d.date_of_birth = *dob;
    } else {
      problems.push_back("date_of_birth '" + shown(field(col.dob)) +
                         "' is not a date YYYY-MM-DD from 1900 on");
    }
    const std::string citizenship = lower(field(col.citizenship));
    if (citizenship == "us" || citizenship == "non-us") {
      d.citizenship = citizenship == "us" ? Citizenship::kUs : Citizenship::kNonUs;
    } else {
      problems.push_back("citizenship '" + shown(field(col.citizenship)) +
                         "' must be US or non-US");
    }
    if (const std::string until = field(col.until); !until.empty()) {
      d.admitted_until = parse_date(until);
      if (!d.admitted_until)
        problems.push_back("admitted_until '" + shown(until) + "' is not a date YYYY-MM-DD");
      if (citizenship == "us") {
        problems.push_back("admitted_until applies to non-US travellers only");
      }
    }
    const std::string portrait = field(col.portrait);
    if (portrait.empty()) {
      problems.push_back("portrait path is missing");
    } else if (checks.portrait_exists && !checks.portrait_exists(portrait)) {
      problems.push_back("portrait '" + shown(portrait) + "' not found");
    }
    if (problems.empty()) {
      const std::string key = describe(d.key());
      if (const auto it = first_line.find(key); it != first_line.end()) {
        problems.push_back("duplicate document " + key + ", first on line " +
                           std::to_string(it->second));
      } else if (checks.already_enrolled && checks.already_enrolled(d.key())) {
        problems.push_back("document " + key + " is already enrolled");
      } else {
        first_line.emplace(key, row.line);
      }
    }
    if (problems.empty()) {
      out.rows.push_back({row.line, std::move(d), portrait});
    } else {
      std::string message = problems.front();
      for (std::size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
      out.errors.push_back({row.line, std::move(message)});
    }
  }
  return out;
}

}  // namespace laneface::store
