#include "vision/face_engine.hpp"

#include <cmath>

namespace laneface::vision {

FaceEngine::FaceEngine(const EngineOptions& options)
    : manifest_(Manifest::load(options.manifest)) {
  detector_ = std::make_unique<Detector>(
      std::make_shared<NetPool>(manifest_, manifest_.model_for_role("detector")));
  landmarker_ = std::make_unique<Landmarker>(
      std::make_shared<NetPool>(manifest_, manifest_.model_for_role("landmarker")));
  recognizer_ = std::make_unique<ArcFaceRecognizer>(
      std::make_shared<NetPool>(manifest_, manifest_.model_for_role("recognizer")), options.embed);
}

void FaceEngine::add_landmarks(const cv::Mat& bgr, core::Face& face) const {
  face.landmarks68 = landmarker_->predict(bgr, face.box);
  face.landmarks5 = reduce_to_5(*face.landmarks68);
}

std::vector<core::Face> FaceEngine::analyze(const cv::Mat& bgr, const DetectOptions& options) const {
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
