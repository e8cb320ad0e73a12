#include "capture/document_gallery.hpp"

#include <mutex>
#include <opencv2/core.hpp>

#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "store/store.hpp"
#include "vision/face_engine.hpp"
#include "vision/fused_recognizer.hpp"

namespace laneface::capture {

using core::Error;
using core::ErrorKind;

match::Metric gallery_metric(const std::string& model_id) {
  if (model_id.find('+') != std::string::npos || model_id.rfind("fused", 0) == 0) {
    throw Error(ErrorKind::kConfig, "gallery metric: recognizer '" + model_id +
                                        "' fuses scores; its gallery metric comes from the "
                                        "recognizer's fusion parameters");
  }
  return model_id.rfind("dlib", 0) == 0 ? match::Metric::kL2 : match::Metric::kInnerProduct;
}

match::GalleryMetric gallery_metric(const vision::Recognizer& recognizer) {
  const auto* fused = dynamic_cast<const vision::FusedRecognizer*>(&recognizer);
  if (!fused) return gallery_metric(recognizer.model_id());
  std::vector<match::FusedPart> parts;
  for (std::size_t i = 0; i < fused->parts().size(); ++i) {
    const auto& p = *fused->parts()[i];
    const auto& norm = fused->params().norms.at(i);
    parts.push_back({p.template_size(), gallery_metric(p.model_id()), norm.mean, norm.stddev});
  }
  return match::GalleryMetric::fused(std::move(parts));
}

DocumentGallery::DocumentGallery(std::string model_id, std::size_t dim, match::GalleryMetric metric)
    : model_id_(std::move(model_id)),
      dim_(dim),
      metric_(metric),
      port_(std::make_unique<match::Gallery>(model_id_, dim, metric)) {}

void DocumentGallery::add(EnrolledDocument document, const core::Template& portrait) {
  if (document.document_id == 0) document.document_id = next_id_;
  next_id_ = std::max(next_id_, document.document_id + 1);
  if (documents_.count(document.document_id)) {
    throw Error(
        ErrorKind::kInvalidInput,
        "document gallery: document id " + std::to_string(document.document_id) + " added twice");
  }
  match::GalleryEntry entry{document.document_id,
                            document.subject_id ? document.subject_id : document.document_id,
                            document.document_id, match::EntryKind::kDocument};
  port_->add(entry, portrait);
  if (!document.number.empty()) by_number_[document.number] = document.document_id;
  documents_.emplace(document.document_id, std::pair{std::move(document), portrait});
}

std::unique_ptr<match::Gallery> DocumentGallery::vehicle(const nlohmann::json& documents) const {
  auto g = std::make_unique<match::Gallery>(model_id_, dim_, metric_);
  if (!documents.is_array()) return g;
  for (const auto& d : documents) {
    if (!d.is_object() || !d.contains("number") || !d["number"].is_string()) continue;
    match::Id id = 0;
    if (const auto it = by_number_.find(d["number"].get<std::string>()); it != by_number_.end()) {
      id = it->second;
    } else if (resolver_) {
      id = resolver_(d).value_or(0);
    }
    const auto found = documents_.find(id);
    if (found == documents_.end()) continue;
    const auto& [doc, t] = found->second;
    auto same = [&](const char* key, const std::string& have) {
      return !d.contains(key) || !d[key].is_string() || have.empty() ||
             d[key].get<std::string>() == have;
    };
    if (!same("type", doc.type) || !same("country", doc.country)) continue;
    match::GalleryEntry entry{doc.document_id, doc.subject_id ? doc.subject_id : doc.document_id,
                              doc.document_id, match::EntryKind::kDocument};
    try {
      g->add(entry, t);
    } catch (const Error&) {
      // The same document read twice: once is enough.
    }
  }
  return g;
}

const EnrolledDocument* DocumentGallery::find(match::Id document_id) const {
  const auto it = documents_.find(document_id);
  return it == documents_.end() ? nullptr : &it->second.first;
}

const EnrolledDocument* DocumentGallery::find_number(const std::string& number) const {
  const auto it = by_number_.find(number);
  return it == by_number_.end() ? nullptr : find(it->second);
}

namespace {

DocumentGallery load_documents(store::Store& store, const std::string& model_id, std::size_t dim,
                               match::GalleryMetric metric, const std::string& actor) {
  DocumentGallery g(model_id, dim, std::move(metric));
  for (const auto& t : store.load_templates(model_id, actor)) {
    if (t.owner.kind != store::TemplateOwnerKind::kDocument) continue;
    EnrolledDocument d;
    d.document_id = t.owner.id;
    g.add(std::move(d), t.value);
  }
  g.set_store_ids(true);
  g.set_resolver([&store](const nlohmann::json& doc) -> std::optional<match::Id> {
    store::DocumentKey key;
    key.number = doc.value("number", std::string());
    key.country = doc.value("country", std::string());
    const auto type =
        store::parse_enum<store::DocumentType>(doc.value("type", std::string("passport")));
    if (!type) return std::nullopt;
    key.type = *type;
    const auto found = store.find_document(key);
    if (!found) return std::nullopt;
    return found->id;
  });
  return g;
}

}  // namespace

DocumentGallery load_document_gallery(store::Store& store, const std::string& model_id,
                                      std::size_t dim, const std::string& actor) {
  return load_documents(store, model_id, dim, gallery_metric(model_id), actor);
}

DocumentGallery load_document_gallery(store::Store& store, const vision::Recognizer& recognizer,
                                      const std::string& actor) {
  return load_documents(store, recognizer.model_id(), recognizer.template_size(),
                        gallery_metric(recognizer), actor);
}

DocumentGallery enrol_csv_in_memory(const std::filesystem::path& csv,
                                    const std::filesystem::path& images,
                                    const vision::FaceEngine& engine, int threads,
                                    CsvEnrolReport* report) {
  const core::CsvTable table = core::read_csv(csv);
  const std::size_t c_number = table.column("number"), c_portrait = table.column("portrait");
  auto optional_column = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < table.header.size(); ++i) {
      if (table.header[i] == name) return i;
    }
    return std::nullopt;
  };
  const auto c_type = optional_column("type"), c_country = optional_column("country"),
             c_identity = optional_column("identity");
  const auto& rec = engine.recognizer();
  DocumentGallery gallery(rec.model_id(), rec.template_size(), gallery_metric(rec));
  std::vector<std::optional<core::Template>> templates(table.rows.size());
  std::vector<std::string> errors(table.rows.size());
  core::parallel_for(table.rows.size(), threads, [&](std::size_t i) {
    const auto& row = table.rows[i];
    try {
      const cv::Mat img = core::read_image(images / row.fields[c_portrait]);
      vision::DetectOptions o;
      o.min_face = 20;
      const auto faces = engine.analyze(img, o);
      const auto k = vision::face_of_interest(faces, img.size());
      if (!k) {
        errors[i] = "line " + std::to_string(row.line) + ": no face in the portrait";
        return;
      }
      templates[i] = engine.embed(img, faces[*k]);
    } catch (const Error& e) {
      errors[i] = "line " + std::to_string(row.line) + ": " + e.what();
    }
  });
  CsvEnrolReport local;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    if (!templates[i]) {
      local.errors.push_back(errors[i]);
      continue;
    }
    const auto& f = table.rows[i].fields;
    EnrolledDocument d;
    d.number = f[c_number];
    if (c_type) d.type = f[*c_type];
    if (c_country) d.country = f[*c_country];
    if (c_identity) d.identity = f[*c_identity];
    if (gallery.find_number(d.number)) {
      local.errors.push_back("line " + std::to_string(table.rows[i].line) +
                             ": document number enrolled twice");
      continue;
    }
    gallery.add(std::move(d), *templates[i]);
    ++local.enrolled;
  }
  if (report) *report = std::move(local);
  return gallery;
}

}  // namespace laneface::capture
