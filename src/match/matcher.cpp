#include "match/matcher.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace laneface::match {

using core::Error;
using core::ErrorKind;

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kMatched:
      return "matched";
    case Outcome::kNotMatched:
      return "not_matched";
    case Outcome::kNotCaptured:
      return "not_captured";
  }
  return "?";
}

std::string_view to_string(GalleryScope scope) {
  return scope == GalleryScope::kPort ? "port" : "vehicle";
}

Matcher::Matcher(Calibration calibration) : calibration_(std::move(calibration)) {}

std::vector<Decision> Matcher::decide(std::span<const std::optional<core::Template>> occupants,
                                      const Gallery& vehicle, const Gallery& port) const {
  for (const Gallery* g : {&vehicle, &port}) {
    if (g->model_id() != calibration_.model_id) {
      throw Error(ErrorKind::kConfig, "matcher: a gallery holds '" + g->model_id() +
                                          "' templates but the calibration is for '" +
                                          calibration_.model_id + "'");
    }
  }
  const double thresholds[2] = {vehicle_threshold(), port_threshold(port.size())};
  std::vector<Decision> out;
  for (const auto& probe : occupants) {
    Decision d;
    d.threshold = thresholds[1];
    if (probe) {
      d.outcome = Outcome::kNotMatched;
      for (const auto& [gallery, scope] :
           {std::pair{&vehicle, GalleryScope::kVehicle}, std::pair{&port, GalleryScope::kPort}}) {
        const auto top = gallery->search(*probe, 1);
        if (top.empty()) continue;
        d.best_score = std::max(d.best_score.value_or(top[0].score), top[0].score);
        const double t = thresholds[scope == GalleryScope::kPort];
        if (top[0].score > t) {
          d = {Outcome::kMatched, top[0], scope, d.best_score, t};
          break;
        }
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace laneface::match
