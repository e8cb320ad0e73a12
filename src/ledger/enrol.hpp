#pragma once
// Bulk enrolment of travel documents: each row of an enrolment CSV (store/enrol_csv.hpp) →
// its portrait (core::read_image) → the face of interest → the validation profile (quality)
// → a template of the engine's recognizer (stored with its model id) → Store::enrol, one
// transaction per row. A row that fails (bad field, unreadable portrait, no face, portrait
// failing the profile, document already enrolled) is reported with its line and left out;
// good rows are kept and nothing already stored changes. Messages name lines, fields and
// files, never a holder's name, pixels or template values.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quality/assessor.hpp"
#include "store/enrol_csv.hpp"
#include "store/store.hpp"
#include "vision/face_engine.hpp"

namespace laneface::ledger {

struct EnrolOptions {
  std::string profile = "document";  // the profile portraits must pass; "" skips the check
  std::string actor = "laneface enrol";
  int threads = 1;    // portraits analysed in parallel (the engine is thread-safe)
  int min_face = 40;  // smallest face width to look for in a portrait, pixels
  // Called after each batch of rows with the rows done so far and the rows to do.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct EnrolReport {
  std::size_t enrolled = 0;
  std::vector<store::EnrolRowError> errors;  // one per rejected row, by line
  // {"enrolled": n, "rejected": n, "errors": [{"line": n, "error": "..."}]}
  nlohmann::json to_json() const;
};

// Enrols the rows of the CSV file `csv`, portraits relative to `images`. `assessor` may be
// null only when options.profile is empty. Throws core::Error for what aborts the whole run:
// kNotFound / kInvalidInput for a missing or unreadable CSV (a missing column, a broken
// quote), kConfig for an unknown profile or a missing key, kIo when the store fails.
EnrolReport enrol_documents(store::Store& store, const std::filesystem::path& csv,
                            const std::filesystem::path& images, const vision::FaceEngine& engine,
                            const quality::Assessor* assessor, const EnrolOptions& options = {});

}  // namespace laneface::ledger
