#include "service/face_stack.hpp"

#include <cstdio>
#include <opencv2/core.hpp>

#include "capture/document_gallery.hpp"
#include "capture/lane_config.hpp"
#include "capture/lane_processor.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "match/calibration.hpp"
#include "match/gallery.hpp"
#include "match/store_gallery.hpp"
#include "quality/assessor.hpp"
#include "quality/config.hpp"
#include "service/request.hpp"

namespace laneface::service {

using Json = nlohmann::json;

FaceStack::FaceStack(const vision::EngineOptions& options, store::Store& store) : store_(store) {
  engine_ = std::make_unique<vision::FaceEngine>(options);
  assessor_ = std::make_unique<quality::Assessor>(
      quality::QualityConfig::load(quality::default_quality_config_path()),
      quality::Assessor::load_models(engine_->manifest()));
  const auto& rec = engine_->recognizer();
  const auto templates = store.load_templates(rec.model_id(), "laneface serve");
  const auto metric = capture::gallery_metric(rec);
  const std::size_t dim = rec.template_size();
  // A fresh store learns the model here: the lane records encounter templates from the
  // first vehicle on, before any document is enrolled.
  store.register_model(rec.model_id(), static_cast<int>(dim));
  auto lane_config = capture::LaneConfig::load(capture::default_lane_config_path());
  // 1:1 verify uses the calibration file's own FMR threshold and 1:N search its port
  // threshold for the gallery's size (the lane may set its vehicle gallery's apart).
  if (!lane_config.calibration.empty()) {
    calibration_ = match::load_calibration_for(lane_config.calibration, rec.model_id());
  } else {
    calibration_.model_id = rec.model_id();
    calibration_.threshold = rec.threshold();
    calibration_.source = "manifest compare_threshold (FAR 1e-3 on LFW view 2)";
  }
  documents_ = std::make_unique<capture::DocumentGallery>(
      capture::load_document_gallery(store, rec, "laneface serve"));
  port_ = std::make_unique<match::Gallery>(
      match::build_gallery(templates, rec.model_id(), dim, metric));
  lane_ = std::make_unique<capture::LaneProcessor>(*engine_, *assessor_, std::move(lane_config),
                                                   &store, documents_.get());
  std::fprintf(stderr, "laneface serve: lane pipeline ready, %zu documents in the gallery\n",
               documents_->size());
}

FaceStack::~FaceStack() = default;

std::size_t FaceStack::documents() const {
  std::shared_lock lock(documents_mutex_);
  return documents_->size();
}

Processor FaceStack::processor() {
  return [this](const capture::VehiclePass& p, const capture::Observer& o) {
    std::shared_lock lock(documents_mutex_);
    return lane_->process(p, o);
  };
}

core::Template FaceStack::probe(std::span<const unsigned char> bytes,
                                const std::string& name) const {
  const cv::Mat img = core::decode_image(bytes, name);
  auto faces = engine_->analyze(img);
  const auto i = vision::face_of_interest(faces, img.size());
  if (!i) throw RequestError(422, name + ": no face found");
  return engine_->embed(img, faces[*i]);
}

Json FaceStack::enrol(const store::Document& d, std::span<const unsigned char> portrait,
                      const std::string& actor) {
  const auto t = probe(portrait, "portrait");
  store_.register_model(t.model_id, static_cast<int>(t.values.size()));
  const auto doc = store_.enrol(d, t, actor);
  bool lane = false;
  {
    std::unique_lock lock(documents_mutex_);
    if (!documents_->find(doc.id)) {
      capture::EnrolledDocument e;
      e.type = store::to_string(doc.type);
      e.number = doc.number;
      e.country = doc.country;
      e.document_id = doc.id;
      e.subject_id = doc.subject_id;
      documents_->add(std::move(e), t);
      lane = true;
    }
  }
  {
    std::lock_guard lock(port_mutex_);
    port_->add({0, doc.subject_id, doc.id, match::EntryKind::kDocument}, t);
  }
  return Json{{"document_id", doc.id},
              {"subject_id", doc.subject_id},
              {"number", doc.number},
              {"galleries", lane ? Json{"port", "lane"} : Json{"port"}},
              {"note", lane ? "joins 1:N search and the lane's galleries now"
                            : "joins 1:N search now; this document was already in the lane's "
                              "gallery, which keeps its earlier portrait until the next start"}};
}

Biometrics FaceStack::biometrics() {
  Biometrics b;
  b.verify = [this](std::span<const unsigned char> a, std::span<const unsigned char> c) {
    const auto ta = probe(a, "a"), tb = probe(c, "b");
    const double score = engine_->recognizer().compare(ta, tb);
    const double threshold = calibration_.threshold;
    return Json{{"score", score},
                {"threshold", threshold},
                {"decision", score > threshold ? "same" : "different"},
                {"model_id", engine_->recognizer().model_id()}};
  };
  b.search = [this](std::span<const unsigned char> img, int k) {
    const auto t = probe(img, "image");
    std::lock_guard lock(port_mutex_);
    Json out = Json::array();
    for (const auto& c : port_->search(t, static_cast<std::size_t>(k))) {
      out.push_back(
          {{"subject_id", c.entry.subject_id},
           {"document_id", c.entry.document_id},
           {"template_id", c.entry.template_id},
           {"score", c.score},
           {"kind", c.entry.kind == match::EntryKind::kDocument ? "document" : "encounter"}});
    }
    return Json{{"candidates", out}, {"threshold", calibration_.port_threshold(port_->size())}};
  };
  b.enrol = [this](const store::Document& d, std::span<const unsigned char> portrait,
                   const std::string& actor) { return enrol(d, portrait, actor); };
  return b;
}

}  // namespace laneface::service
