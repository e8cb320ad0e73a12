#pragma once
// A gallery: templates of one model, each owned by a subject through a document portrait or
// an earlier encounter, searchable through a SearchIndex. A lane keeps two kinds: the
// vehicle's pre-staged gallery (the documents read at the lane; small, exact) and the port
// gallery (enrolled documents and prior encounters; large).
// Thread-safety: search may run concurrently; add/remove need exclusive access.
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/types.hpp"
#include "match/search_index.hpp"

namespace laneface::match {

enum class EntryKind { kDocument, kEncounter };

struct GalleryEntry {
  Id template_id = 0;
  Id subject_id = 0;
  Id document_id = 0;  // 0 for an encounter template
  EntryKind kind = EntryKind::kDocument;
};

// How a gallery scores its templates: one model's metric, or a fused recognizer's parts
// (templates = the parts' templates concatenated; exact search, create_fused_index).
struct GalleryMetric {
  Metric metric = Metric::kInnerProduct;
  std::vector<FusedPart> parts;  // set (two or more) exactly when metric is kFused

  GalleryMetric(Metric m = Metric::kInnerProduct) : metric(m) {}  // NOLINT: implicit on purpose
  static GalleryMetric fused(std::vector<FusedPart> parts) {
    GalleryMetric g(Metric::kFused);
    g.parts = std::move(parts);
    return g;
  }
};

struct Candidate {
  GalleryEntry entry;
  double score = 0;
};

class Gallery {
 public:
  // One model per gallery: every template added or searched must carry model_id and have
  // `dim` values. metric: kInnerProduct for cosine models (fr_feature), kL2 for dlib_resnet,
  // GalleryMetric::fused(parts) for the fused recognizer (exact search only: a FAISS kind
  // throws core::Error(kConfig); the exact kinds both give the exact fused scan).
  Gallery(std::string model_id, std::size_t dim, const GalleryMetric& metric,
          IndexKind kind = IndexKind::kExactFloat, const IndexOptions& options = {});

  const std::string& model_id() const { return model_id_; }
  std::size_t dim() const { return index_->dim(); }
  std::size_t size() const { return index_->size(); }
  std::size_t memory_bytes() const { return index_->memory_bytes(); }

  // Throws core::Error(kInvalidInput) for a template of another model or dimension, or a
  // template id already present.
  void add(const GalleryEntry& entry, const core::Template& value);
  // False when the template id is not present (retention may purge what was never loaded).
  bool remove(Id template_id);
  // The k best candidates, highest score first. Same model/dimension checks as add.
  std::vector<Candidate> search(const core::Template& probe, std::size_t k) const;

 private:
  void check(const core::Template& value, const std::string& what) const;

  std::string model_id_;
  std::unique_ptr<SearchIndex> index_;
  std::unordered_map<Id, GalleryEntry> entries_;  // by template id
};

}  // namespace laneface::match
