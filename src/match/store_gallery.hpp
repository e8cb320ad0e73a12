#pragma once
// Galleries loaded from the store (library laneface_match_store: match + store). The store
// keeps every template with the model id that made it; a gallery holds one model's.
//   port gallery:    every enrolled document portrait of the model, plus prior encounter
//                    templates of identified non-US travellers (EncounterPolicy::kNonUs);
//   vehicle gallery: the portraits of the documents read at the lane (1:few).
// Retention: drop_purged removes the template ids a retention run deleted from a gallery.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "match/gallery.hpp"
#include "store/store.hpp"

namespace laneface::match {

enum class EncounterPolicy {
  kNone,   // document portraits only
  kNonUs,  // + encounter templates of identified non-US travellers (the port gallery)
  kAll,    // + every identified traveller's encounter templates
};

struct StoreGalleryOptions {
  IndexKind kind = IndexKind::kExactFloat;
  IndexOptions index;
  EncounterPolicy encounters = EncounterPolicy::kNonUs;
};

// The gallery entry of a stored template: document portraits (and subject-owned templates)
// are kDocument, occupant-owned ones kEncounter.
GalleryEntry to_entry(const store::StoredTemplate& t);

// Builds a gallery of `model_id` templates (dimension `dim`) from templates already loaded.
// Encounter templates of unidentified occupants are never added (no subject to report).
// Throws core::Error(kInvalidInput) for a template of another model or dimension.
Gallery build_gallery(std::span<const store::StoredTemplate> templates, const std::string& model_id,
                      std::size_t dim, const GalleryMetric& metric,
                      const StoreGalleryOptions& options = {});

// Only the portraits of these documents (a vehicle's pre-staged gallery); small and exact.
Gallery build_vehicle_gallery(std::span<const store::StoredTemplate> templates,
                              const std::string& model_id, std::size_t dim,
                              const GalleryMetric& metric, std::span<const Id> document_ids);

// Loads (decrypts; audited by the store) every template of the model and builds the gallery.
Gallery load_gallery(store::Store& store, const std::string& model_id, std::size_t dim,
                     const GalleryMetric& metric, const std::string& actor,
                     const StoreGalleryOptions& options = {});

// Removes the report's deleted template ids from the gallery; returns how many it held.
std::size_t drop_purged(Gallery& gallery, const store::RetentionReport& report);

}  // namespace laneface::match
