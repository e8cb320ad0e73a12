#pragma once
// A stand-in for the lane pipeline, for tests and for running the service without models:
// it trusts the documents read at the lane. Each document found in the store becomes a
// captured occupant matched to it (score 1.0, model "stand-in"), each unknown document a
// captured occupant not matched, and every third vehicle (by id) gets one rear-seat occupant
// not captured. It records all of it in the store like the real pipeline (crossing,
// occupants, match decisions, a small generated placeholder photo per captured occupant when
// the store has a key) and returns the per-vehicle JSON of docs/lane-format.md. It makes no
// biometric comparison: never use it at a real lane.
#include "service/lanes.hpp"

namespace laneface::service {

Processor make_stand_in_processor(store::Store& store, std::string actor = "lane-stand-in");

}  // namespace laneface::service
