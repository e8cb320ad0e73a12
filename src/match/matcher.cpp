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

Traveller traveller_of(const GalleryEntry& entry) {
  if (entry.subject_id != 0) return {entry.subject_id, 0, 0};
  if (entry.document_id != 0) return {0, entry.document_id, 0};
  return {0, 0, entry.template_id};
}

std::vector<Assignment> assign_one_to_one(std::span<const std::optional<core::Template>> occupants,
                                          const Gallery& gallery, double threshold, std::size_t k,
                                          std::set<Traveller>& claimed) {
  struct Pair {
    double score;
    std::size_t occupant;
    Candidate candidate;
  };
  std::vector<Assignment> out(occupants.size());
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < occupants.size(); ++i) {
    if (!occupants[i] || k == 0) continue;
    for (const Candidate& c : gallery.search(*occupants[i], k)) {
      out[i].best_score = std::max(out[i].best_score.value_or(c.score), c.score);
      if (c.score > threshold) pairs.push_back({c.score, i, c});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Pair& a, const Pair& b) { return a.score > b.score; });
  for (const Pair& p : pairs) {
    Assignment& a = out[p.occupant];
    if (a.match) continue;
    if (claimed.insert(traveller_of(p.candidate.entry)).second) {
      a.match = p.candidate;
      a.conflict = false;
    } else {
      a.conflict = true;
    }
  }
  return out;
}

std::vector<Decision> Matcher::decide(std::span<const std::optional<core::Template>> occupants,
                                      const Gallery& vehicle, const Gallery& port) const {
  for (const Gallery* g : {&vehicle, &port}) {
    if (g->model_id() != calibration_.model_id) {
      throw Error(ErrorKind::kConfig, "matcher: a gallery holds '" + g->model_id() +
                                          "' templates but the calibration is for '" +
                                          calibration_.model_id + "'");
    }
  }
  const double port_t = port_threshold(port.size());
  const double vehicle_t = vehicle_threshold(vehicle.size());
  std::set<Traveller> claimed;
  // 1:few: every document of the vehicle is a candidate of every occupant.
  const auto few = assign_one_to_one(occupants, vehicle, vehicle_t, vehicle.size(), claimed);
  // 1:N for the rest: the port gallery's top candidate only.
  std::vector<std::optional<core::Template>> rest(occupants.size());
  for (std::size_t i = 0; i < occupants.size(); ++i) {
    if (occupants[i] && !few[i].match) rest[i] = occupants[i];
  }
  const auto wide = assign_one_to_one(rest, port, port_t, 1, claimed);
  std::vector<Decision> out(occupants.size());
  for (std::size_t i = 0; i < occupants.size(); ++i) {
    Decision& d = out[i];
    d.threshold = port_t;
    if (!occupants[i]) continue;
    d.outcome = Outcome::kNotMatched;
    for (const auto& s : {few[i].best_score, wide[i].best_score}) {
      if (s) d.best_score = std::max(d.best_score.value_or(*s), *s);
    }
    if (few[i].match) {
      d = {Outcome::kMatched, few[i].match, GalleryScope::kVehicle, d.best_score, vehicle_t};
    } else if (wide[i].match) {
      d = {Outcome::kMatched, wide[i].match, GalleryScope::kPort, d.best_score, port_t};
    } else {
      d.conflict = few[i].conflict || wide[i].conflict;
    }
  }
  return out;
}

}  // namespace laneface::match
