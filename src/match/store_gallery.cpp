#include "match/store_gallery.hpp"

#include <algorithm>

namespace laneface::match {

GalleryEntry to_entry(const store::StoredTemplate& t) {
  GalleryEntry e;
  e.template_id = t.id;
  e.subject_id = t.subject_id;
  e.document_id = t.document_id;
  e.kind = t.owner.kind == store::TemplateOwnerKind::kEncounter ? EntryKind::kEncounter
                                                                : EntryKind::kDocument;
  return e;
}

namespace {

bool wanted(const store::StoredTemplate& t, EncounterPolicy policy) {
  if (t.owner.kind != store::TemplateOwnerKind::kEncounter) return t.subject_id != 0;
  if (t.subject_id == 0) return false;  // an encounter matched to nobody
  switch (policy) {
    case EncounterPolicy::kNone:
      return false;
    case EncounterPolicy::kNonUs:
      return t.citizenship == store::Citizenship::kNonUs;
    case EncounterPolicy::kAll:
      return true;
  }
  return false;
}

}  // namespace

Gallery build_gallery(std::span<const store::StoredTemplate> templates, const std::string& model_id,
                      std::size_t dim, const GalleryMetric& metric,
                      const StoreGalleryOptions& options) {
  Gallery gallery(model_id, dim, metric, options.kind, options.index);
  for (const auto& t : templates) {
    if (wanted(t, options.encounters)) gallery.add(to_entry(t), t.value);
  }
  return gallery;
}

Gallery build_vehicle_gallery(std::span<const store::StoredTemplate> templates,
                              const std::string& model_id, std::size_t dim,
                              const GalleryMetric& metric, std::span<const Id> document_ids) {
  Gallery gallery(model_id, dim, metric, IndexKind::kExactFloat);
  for (const auto& t : templates) {
    if (t.document_id != 0 &&
        std::find(document_ids.begin(), document_ids.end(), t.document_id) != document_ids.end())
      gallery.add(to_entry(t), t.value);
  }
  return gallery;
}

Gallery load_gallery(store::Store& store, const std::string& model_id, std::size_t dim,
                     const GalleryMetric& metric, const std::string& actor,
                     const StoreGalleryOptions& options) {
  const auto templates = store.load_templates(model_id, actor);
  return build_gallery(templates, model_id, dim, metric, options);
}

std::size_t drop_purged(Gallery& gallery, const store::RetentionReport& report) {
  std::size_t dropped = 0;
  for (const Id id : report.deleted_template_ids) dropped += gallery.remove(id);
  return dropped;
}

}  // namespace laneface::match
