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

}  // namespace

nlohmann::json EnrolCsv::errors_json() const {
  auto out = nlohmann::json::array();
  for (const auto& e : errors) out.push_back({{"line", e.line}, {"error", e.message}});
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
      problems.push_back("number '" + d.number + "' must be 1 to 32 letters and digits");
    }
    if (const auto type = parse_enum<DocumentType>(lower(field(col.type)))) {
      d.type = *type;
    } else {
      problems.push_back("type '" + field(col.type) +
                         "' is not one of passport, visa, permanent_resident_card, passport_card, "
                         "enhanced_licence");
    }
    d.country = upper(field(col.country));
    if (d.country.size() != 3 || !all_alpha(d.country)) {
      problems.push_back("country '" + field(col.country) + "' must be a three-letter ICAO code");
    }
    d.holder_name = field(col.holder);
    if (d.holder_name.empty() || d.holder_name.size() > kMaxName) {
      problems.push_back("name must be 1 to 200 characters");
    }
    if (const auto dob = parse_date(field(col.dob));
        dob && dob->year() >= std::chrono::year(1900)) {
      d.date_of_birth = *dob;
    } else {
      problems.push_back("date_of_birth '" + field(col.dob) +
                         "' is not a date YYYY-MM-DD from 1900 on");
    }
    const std::string citizenship = lower(field(col.citizenship));
    if (citizenship == "us" || citizenship == "non-us") {
      d.citizenship = citizenship == "us" ? Citizenship::kUs : Citizenship::kNonUs;
    } else {
      problems.push_back("citizenship '" + field(col.citizenship) + "' must be US or non-US");
    }
    if (const std::string until = field(col.until); !until.empty()) {
      d.admitted_until = parse_date(until);
      if (!d.admitted_until)
        problems.push_back("admitted_until '" + until + "' is not a date YYYY-MM-DD");
      if (citizenship == "us") {
        problems.push_back("admitted_until applies to non-US travellers only");
      }
    }
    const std::string portrait = field(col.portrait);
    if (portrait.empty()) {
      problems.push_back("portrait path is missing");
    } else if (checks.portrait_exists && !checks.portrait_exists(portrait)) {
      problems.push_back("portrait '" + portrait + "' not found");
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
