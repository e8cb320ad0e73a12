#include "match/gallery.hpp"

#include "core/error.hpp"

namespace laneface::match {

using core::Error;
using core::ErrorKind;

namespace {

std::unique_ptr<SearchIndex> make_index(const std::string& model_id, std::size_t dim,
                                        const GalleryMetric& metric, IndexKind kind,
                                        const IndexOptions& options) {
  if (metric.metric != Metric::kFused) return create_index(kind, dim, metric.metric, options);
  if (kind == IndexKind::kFaissIvf) {
    throw Error(ErrorKind::kConfig, "gallery of '" + model_id +
                                        "': fused scores are searched exactly (index kind "
                                        "exact_float), not with " +
                                        std::string(to_string(kind)));
  }
  auto index = create_fused_index(metric.parts);
  if (index->dim() != dim) {
    throw Error(ErrorKind::kInvalidInput, "gallery of '" + model_id + "': the parts hold " +
                                              std::to_string(index->dim()) + " values, not " +
                                              std::to_string(dim));
  }
  return index;
}

}  // namespace

Gallery::Gallery(std::string model_id, std::size_t dim, const GalleryMetric& metric, IndexKind kind,
                 const IndexOptions& options)
    : model_id_(std::move(model_id)), index_(make_index(model_id_, dim, metric, kind, options)) {
  if (model_id_.empty()) throw Error(ErrorKind::kInvalidInput, "gallery: model id is empty");
}

void Gallery::check(const core::Template& value, const std::string& what) const {
  if (value.model_id != model_id_) {
    throw Error(ErrorKind::kInvalidInput, what + ": made by model '" + value.model_id +
                                              "', the gallery holds '" + model_id_ + "' templates");
  }
  if (value.values.size() != dim()) {
    throw Error(ErrorKind::kInvalidInput, what + ": has " + std::to_string(value.values.size()) +
                                              " values, model '" + model_id_ + "' templates have " +
                                              std::to_string(dim()));
  }
}

void Gallery::add(const GalleryEntry& entry, const core::Template& value) {
  const std::string what = "template " + std::to_string(entry.template_id);
  check(value, what);
  if (entries_.count(entry.template_id))
    throw Error(ErrorKind::kInvalidInput, what + ": already in the gallery");
  index_->add(entry.template_id, value.values);
  entries_.emplace(entry.template_id, entry);
}

bool Gallery::remove(Id template_id) {
  if (!entries_.erase(template_id)) return false;
  return index_->remove(template_id);
}

std::vector<Candidate> Gallery::search(const core::Template& probe, std::size_t k) const {
  check(probe, "probe");
  std::vector<Candidate> out;
  for (const Hit& hit : index_->search(probe.values, k))
    out.push_back({entries_.at(hit.id), hit.score});
  return out;
}

}  // namespace laneface::match
