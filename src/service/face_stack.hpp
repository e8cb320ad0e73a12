#pragma once
// The face side of `laneface serve`: the face engine, the quality assessor, the lane pipeline
// with its document gallery loaded from the store, the port gallery for 1:N search, and the
// Processor and Biometrics the service calls. A separate library (laneface_service_faces) so
// that the service itself needs no models.
//
// Enrolment through the API joins the live galleries at once: the port gallery (1:N search)
// and the lane's document gallery (the pipeline's 1:few and 1:N), no restart. A reader/writer
// lock keeps a vehicle being processed from seeing the gallery change under it: processing
// holds it shared, enrolment takes it exclusively only for the gallery insert (so an
// enrolment waits at most for the vehicle in progress).
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>

#include "core/types.hpp"
#include "match/calibration.hpp"
#include "service/lanes.hpp"
#include "service/server.hpp"
#include "vision/face_engine.hpp"

namespace laneface::quality {
class Assessor;
}
namespace laneface::match {
class Gallery;
}
namespace laneface::capture {
class DocumentGallery;
class LaneProcessor;
}  // namespace laneface::capture

namespace laneface::service {

class FaceStack {
 public:
  // Loads the models (throws core::Error like FaceEngine) and the galleries from `store`,
  // which must outlive this object.
  FaceStack(const vision::EngineOptions& options, store::Store& store);
  ~FaceStack();
  FaceStack(const FaceStack&) = delete;
  FaceStack& operator=(const FaceStack&) = delete;

  Processor processor();
  Biometrics biometrics();
  std::size_t documents() const;  // in the lane's document gallery
  const vision::FaceEngine& engine() const { return *engine_; }

 private:
  core::Template probe(std::span<const unsigned char> bytes, const std::string& name) const;
  nlohmann::json enrol(const store::Document& d, std::span<const unsigned char> portrait,
                       const std::string& actor);

  store::Store& store_;
  std::unique_ptr<vision::FaceEngine> engine_;
  std::unique_ptr<quality::Assessor> assessor_;
  std::unique_ptr<capture::DocumentGallery> documents_;
  std::unique_ptr<capture::LaneProcessor> lane_;
  mutable std::shared_mutex documents_mutex_;  // shared: processing; exclusive: enrolment
  mutable std::mutex port_mutex_;
  match::Calibration calibration_;        // verify (1:1) and search (1:N) thresholds
  std::unique_ptr<match::Gallery> port_;  // 1:N search: documents and encounters
};

}  // namespace laneface::service
