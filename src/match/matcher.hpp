#pragma once
// Decisions for the occupants of one vehicle: each captured occupant is searched 1:few in
// the vehicle's pre-staged gallery first, then 1:N in the port gallery; a score above the
// calibrated threshold is a match: the 1:few threshold (a target FMR, or a target FPIR at the
// vehicle's document count) in the vehicle gallery, the 1:N one (target FPIR at the port
// gallery's size, calibration.hpp) in the port gallery.
// A traveller is at most one occupant of a vehicle: matches are assigned one to one
// (assign_one_to_one), and an occupant whose match went to another occupant is referred.
// Everything else goes to an officer: the matcher never takes an adverse decision on its own.
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "match/calibration.hpp"
#include "match/gallery.hpp"

namespace laneface::match {

enum class Outcome { kMatched, kNotMatched, kNotCaptured };
enum class GalleryScope { kVehicle, kPort };

std::string_view to_string(Outcome outcome);     // "matched", "not_matched", "not_captured"
std::string_view to_string(GalleryScope scope);  // "vehicle", "port"

struct Decision {
  Outcome outcome = Outcome::kNotCaptured;
  std::optional<Candidate> match;                 // set when matched
  GalleryScope gallery = GalleryScope::kVehicle;  // where the match came from
  std::optional<double> best_score;  // the highest score seen in either gallery, if searched
  double threshold = 0;              // the threshold of the gallery that matched (else the port's)
  // Not matched because a traveller this occupant scored above the threshold was assigned to
  // another occupant of the vehicle with a higher score (two occupants, one traveller).
  bool conflict = false;

  // Not matched or not captured: an officer checks the person.
  bool officer_referral() const { return outcome != Outcome::kMatched; }
};

// One occupant's share of a one-to-one assignment.
struct Assignment {
  std::optional<Candidate> match;    // set when assigned
  std::optional<double> best_score;  // the occupant's top score in the gallery, if searched
  bool conflict = false;             // lost a candidate above the threshold to another occupant
};

// The traveller a gallery entry stands for: its subject; an entry without one (subject 0)
// stands for its document, or, without either, for its template alone.
struct Traveller {
  Id subject_id = 0, document_id = 0, template_id = 0;
  auto operator<=>(const Traveller&) const = default;
};
Traveller traveller_of(const GalleryEntry& entry);

// Greedy one-to-one assignment of a vehicle's occupants to `gallery`'s travellers: each
// occupant's top `k` candidates scoring above `threshold` are taken highest score first, when
// neither the occupant nor the candidate's traveller (traveller_of) is taken yet. `claimed`
// holds travellers taken before (an earlier stage) and receives this stage's. std::nullopt
// occupants take no part. Throws core::Error(kInvalidInput) for a probe of another model or
// dimension.
std::vector<Assignment> assign_one_to_one(std::span<const std::optional<core::Template>> occupants,
                                          const Gallery& gallery, double threshold, std::size_t k,
                                          std::set<Traveller>& claimed);

class Matcher {
 public:
  // Throws core::Error(kConfig) when a gallery holds another model than the calibration.
  Matcher(Calibration calibration);
  const Calibration& calibration() const { return calibration_; }
  // The thresholds decide() applies: 1:few for a vehicle gallery of this many documents, and
  // 1:N for a port gallery of this size.
  double vehicle_threshold(std::size_t documents) const {
    return calibration_.few_threshold(documents);
  }
  double port_threshold(std::size_t port_size) const {
    return calibration_.port_threshold(port_size);
  }

  // One decision per occupant, in order; std::nullopt = no usable capture. `vehicle` may be
  // empty (no documents read). Throws core::Error(kInvalidInput) for a probe of another
  // model or dimension.
  std::vector<Decision> decide(std::span<const std::optional<core::Template>> occupants,
                               const Gallery& vehicle, const Gallery& port) const;

 private:
  Calibration calibration_;
};

}  // namespace laneface::match
