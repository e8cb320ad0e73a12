#include "vision/face_engine.hpp"

#include <cmath>

#include "core/error.hpp"
#include "vision/dlib_recognizer.hpp"
#include "vision/fused_recognizer.hpp"

namespace laneface::vision {

std::unique_ptr<Recognizer> create_recognizer(const Manifest& manifest, const std::string& id,
                                              const EngineOptions& options) {
  if (id == "fused") {
    FusionParams params = FusionParams::load(options.fusion);
    std::vector<std::unique_ptr<Recognizer>> parts;
    for (const auto& part : params.parts) {
      if (part == "fused")
        throw core::Error(core::ErrorKind::kConfig,
                          options.fusion.string() + ": fusion of 'fused'");
      parts.push_back(create_recognizer(manifest, part, options));
    }
    return std::make_unique<FusedRecognizer>(std::move(parts), std::move(params));
  }
  const ModelSpec& spec = manifest.model(id);
  if (spec.role != "recognizer") {
    throw core::Error(core::ErrorKind::kConfig,
                      "model '" + id + "' is a " + spec.role + ", not a recognizer");
  }
  if (spec.architecture.empty()) {
    return std::make_unique<ArcFaceRecognizer>(std::make_shared<NetPool>(manifest, spec),
                                               options.embed);
  }
  if (spec.architecture == "dlib_resnet29") return std::make_unique<DlibRecognizer>(manifest, spec);
  throw core::Error(core::ErrorKind::kConfig,
                    "model '" + id + "': unknown architecture '" + spec.architecture + "'");
}

std::filesystem::path default_fusion_path() {
  return std::filesystem::path(LANEFACE_SOURCE_ROOT) / "config" / "fusion.toml";
}

FaceEngine::FaceEngine(const EngineOptions& options)
    : options_(options), manifest_(Manifest::load(options.manifest)) {
  detector_ = std::make_unique<Detector>(
      std::make_shared<NetPool>(manifest_, manifest_.model_for_role("detector")));
  landmarker_ = std::make_unique<Landmarker>(
      std::make_shared<NetPool>(manifest_, manifest_.model_for_role("landmarker")));
  recognizer_ = create_recognizer(manifest_, options.recognizer, options);
}

void FaceEngine::add_landmarks(const cv::Mat& bgr, core::Face& face) const {
  face.landmarks68 = landmarker_->predict(bgr, face.box);
  face.landmarks5 = reduce_to_5(*face.landmarks68);
}

std::vector<core::Face> FaceEngine::analyze(const cv::Mat& bgr,
                                            const DetectOptions& options) const {
  auto faces = detector_->detect(bgr, options);
  for (auto& f : faces) add_landmarks(bgr, f);
  return faces;
}

core::Template FaceEngine::embed(const cv::Mat& bgr, const core::Face& face) const {
  return recognizer_->embed(bgr, face);
}

std::optional<std::size_t> face_of_interest(const std::vector<core::Face>& faces, cv::Size image) {
  if (faces.empty()) return std::nullopt;
  const cv::Point2f centre(image.width / 2.0f, image.height / 2.0f);
  const float diag = std::hypot(float(image.width), float(image.height));
  std::size_t best = 0;
  double best_value = -1;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const cv::Point2f d = faces[i].box.center() - centre;
    const double off = std::hypot(d.x, d.y) / diag;  // 0 at the centre, ~0.5 in a corner
    const double value = std::sqrt(faces[i].box.area()) * (1.0 - off);
    if (value > best_value) {
      best_value = value;
      best = i;
    }
  }
  return best;
}

}  // namespace laneface::vision
