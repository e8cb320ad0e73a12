#pragma once
// The galleries the lane matches against: every enrolled document's portrait template (the
// port gallery, 1:N) and, per vehicle, the templates of the documents read at the lane
// (1:few). Built in memory from a documents CSV (`bench lane`, `process` without a store)
// or by the caller from its store.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "match/gallery.hpp"

namespace laneface::vision {
class FaceEngine;
class Recognizer;
}  // namespace laneface::vision

namespace laneface::capture {

struct EnrolledDocument {
  std::string type = "passport";
  std::string number;
  std::string country;
  std::string identity;       // dataset label when known (bench only), else ""
  match::Id document_id = 0;  // store id, or a running number in memory
  match::Id subject_id = 0;
};

class DocumentGallery {
 public:
  // metric: gallery_metric(recognizer) (kInnerProduct for fr_feature, kL2 for dlib_resnet,
  // the parts and their normalisation for the fused recognizer).
  DocumentGallery(std::string model_id, std::size_t dim, match::GalleryMetric metric);

  // Adds a document's portrait template. A zero document_id / subject_id gets the next
  // running number. Throws core::Error(kInvalidInput) for a template of another model or
  // size, or a document id already present.
  void add(EnrolledDocument document, const core::Template& portrait);

  const match::Gallery& port() const { return *port_; }
  std::size_t size() const { return documents_.size(); }
  const std::string& model_id() const { return model_id_; }
  // The 1:few gallery of the documents in an event's "documents" list (entries matched on
  // number, and on type/country when both sides give them). Unknown documents are skipped.
  std::unique_ptr<match::Gallery> vehicle(const nlohmann::json& documents) const;
  const EnrolledDocument* find(match::Id document_id) const;
  const EnrolledDocument* find_number(const std::string& number) const;

  // For documents whose number the gallery does not know (a gallery loaded from a store):
  // maps an event document ({"type","number","country"}) to its document id.
  using Resolver = std::function<std::optional<match::Id>(const nlohmann::json& document)>;
  void set_resolver(Resolver resolver) { resolver_ = std::move(resolver); }
  // True when document ids are the store's (decisions may be recorded with them).
  bool store_ids() const { return store_ids_; }
  void set_store_ids(bool v) { store_ids_ = v; }

 private:
  std::string model_id_;
  std::size_t dim_;
  match::GalleryMetric metric_;
  std::unique_ptr<match::Gallery> port_;
  std::map<match::Id, std::pair<EnrolledDocument, core::Template>> documents_;
  std::map<std::string, match::Id> by_number_;
  match::Id next_id_ = 1;
  Resolver resolver_;
  bool store_ids_ = false;
};

}  // namespace laneface::capture
namespace laneface::store {
class Store;
}
namespace laneface::capture {

// Every document template of `model_id` in the store (audited as a gallery load); event
// documents are resolved through Store::find_document. Document numbers are not loaded.
DocumentGallery load_document_gallery(store::Store& store, const std::string& model_id,
                                      std::size_t dim, const std::string& actor);
// The same for the recognizer's templates (also the fused recognizer's).
DocumentGallery load_document_gallery(store::Store& store, const vision::Recognizer& recognizer,
                                      const std::string& actor);

// The gallery metric of a single-model id. Throws core::Error(kConfig) for a fused id (its
// normalisation lives in the recognizer: use the overload below).
match::Metric gallery_metric(const std::string& model_id);
// The gallery metric of a recognizer: for the fused recognizer each part's metric and score
// normalisation (an exact fused scan gives the fused recognizer's own scores).
match::GalleryMetric gallery_metric(const vision::Recognizer& recognizer);

struct CsvEnrolReport {
  std::size_t enrolled = 0;
  std::vector<std::string> errors;  // "line N: problem" (never a name or pixels)
};

// Enrols the rows of a `laneface enrol` CSV (plus an optional `identity` column) in memory:
// each portrait's face of interest → the engine's template. Rows whose portrait cannot be
// read or holds no face are reported and left out. Throws core::Error for an unreadable CSV.
DocumentGallery enrol_csv_in_memory(const std::filesystem::path& csv,
                                    const std::filesystem::path& images,
                                    const vision::FaceEngine& engine, int threads,
                                    CsvEnrolReport* report = nullptr);

}  // namespace laneface::capture
