#include "ledger/enrol.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <variant>

#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"

namespace laneface::ledger {

namespace {

using core::Error;
using core::ErrorKind;

constexpr std::uintmax_t kMaxCsvBytes = 256u << 20;
constexpr std::size_t kBatch = 32;  // rows analysed before their results are stored

std::string read_text(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorKind::kNotFound, "enrolment CSV " + path.string() + ": no such file");
  }
  if (std::filesystem::file_size(path, ec) > kMaxCsvBytes) {
    throw Error(ErrorKind::kInvalidInput, "enrolment CSV " + path.string() + ": larger than " +
                                              std::to_string(kMaxCsvBytes >> 20) + " MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in && !in.eof())
    throw Error(ErrorKind::kIo, "enrolment CSV " + path.string() + ": read failed");
  return text;
}

// A portrait path must stay inside the images folder.
bool inside(const std::filesystem::path& relative) {
  if (relative.empty() || relative.is_absolute() || relative.has_root_name()) return false;
  return std::none_of(relative.begin(), relative.end(),
                      [](const auto& part) { return part == ".."; });
}

// The template of a portrait's face, or why the row cannot be enrolled.
using PortraitResult = std::variant<core::Template, std::string>;

PortraitResult portrait_template(const std::filesystem::path& images, const std::string& portrait,
                                 const vision::FaceEngine& engine,
                                 const quality::Assessor* assessor, const EnrolOptions& options) {
  const std::string name = "portrait '" + portrait + "'";
  cv::Mat image;
  try {
    image = core::read_image(images / portrait);
  } catch (const Error& e) {
    return name + " is unreadable: " + e.what();
  }
  const auto faces = engine.analyze(image, {.min_face = options.min_face});
  const auto k = vision::face_of_interest(faces, image.size());
  if (!k) return name + ": no face found";
  if (!options.profile.empty()) {
    const auto result = assessor->validate(assessor->assess(image, faces, *k), options.profile);
    if (!result.passed) {
      std::string why;
      for (const auto& f : result.failures) why += (why.empty() ? "" : "; ") + f;
      return name + " fails the '" + options.profile + "' profile: " + why;
    }
  }
  return engine.embed(image, faces[*k]);
}

}  // namespace

nlohmann::json EnrolReport::to_json() const {
  store::EnrolCsv as_csv;
  as_csv.errors = errors;
  return {{"enrolled", enrolled}, {"rejected", errors.size()}, {"errors", as_csv.errors_json()}};
}

EnrolReport enrol_documents(store::Store& store, const std::filesystem::path& csv,
                            const std::filesystem::path& images, const vision::FaceEngine& engine,
                            const quality::Assessor* assessor, const EnrolOptions& options) {
  if (!options.profile.empty() &&
      (!assessor || !assessor->config().profiles.count(options.profile))) {
    throw Error(ErrorKind::kConfig,
                "enrolment: quality profile '" + options.profile + "' is not configured");
  }
  store::EnrolCsvChecks checks;
  checks.already_enrolled = [&](const store::DocumentKey& key) {
    return store.find_document(key).has_value();
  };
  checks.portrait_exists = [&](const std::string& p) {
    std::error_code ec;
    return inside(p) && std::filesystem::is_regular_file(images / p, ec);
  };
  store::EnrolCsv parsed = store::parse_enrol_csv(read_text(csv), csv.string(), checks);
  const auto& recognizer = engine.recognizer();
  store.register_model(recognizer.model_id(), static_cast<int>(recognizer.template_size()));

  EnrolReport report;
  report.errors = std::move(parsed.errors);
  const auto& rows = parsed.rows;
  for (std::size_t begin = 0; begin < rows.size(); begin += kBatch) {
    const std::size_t n = std::min(kBatch, rows.size() - begin);
    std::vector<std::optional<PortraitResult>> results(n);
    core::parallel_for(n, options.threads, [&](std::size_t i) {
      results[i] = portrait_template(images, rows[begin + i].portrait, engine, assessor, options);
    });
    for (std::size_t i = 0; i < n; ++i) {
      const auto& row = rows[begin + i];
      if (const auto* why = std::get_if<std::string>(&*results[i])) {
        report.errors.push_back({row.line, *why});
        continue;
      }
      try {
        store.enrol(row.document, std::get<core::Template>(*results[i]), options.actor);
        ++report.enrolled;
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::kInvalidInput) throw;
        report.errors.push_back({row.line, e.what()});  // e.g. enrolled meanwhile by another run
      }
    }
    if (options.progress) options.progress(begin + n, rows.size());
  }
  std::sort(report.errors.begin(), report.errors.end(),
            [](const auto& a, const auto& b) { return a.line < b.line; });
  return report;
}

}  // namespace laneface::ledger
