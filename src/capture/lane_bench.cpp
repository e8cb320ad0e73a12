#include "capture/lane_bench.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "capture/document_gallery.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
#include "match/matcher.hpp"
#include "vision/face_engine.hpp"

namespace laneface::capture {

using core::Error;
using core::ErrorKind;

namespace {

core::Box truth_box(const nlohmann::json& b) {
  const auto& a = b.at("box");
  const float x = a.at(0).get<float>(), y = a.at(1).get<float>();
  return {x, y, x + a.at(2).get<float>(), y + a.at(3).get<float>()};
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * (v.size() - 1);
  const std::size_t i = std::size_t(pos);
  const double f = pos - i;
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

std::string text(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double rate(double num, double den) { return den > 0 ? num / den : 0; }
double round4(double x) { return std::round(x * 1e4) / 1e4; }

nlohmann::json read_truth(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    throw Error(ErrorKind::kNotFound,
                path.string() + ": truth.json not found (bench lane needs a simulated lane)");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kInvalidInput, path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// Truth boxes indexed by (camera, frame).
using BoxIndex = std::map<std::pair<std::string, long>, std::vector<const nlohmann::json*>>;
BoxIndex index_boxes(const nlohmann::json& truth) {
  BoxIndex idx;
  if (!truth.contains("boxes")) return idx;
  for (const auto& b : truth["boxes"]) {
    idx[{b.at("camera").get<std::string>(), b.at("frame").get<long>()}].push_back(&b);
  }
  return idx;
}

// Sightings' votes: (0 occupant | 1 ghost, truth id) → sightings on that face's boxes.
std::map<std::pair<int, int>, int> votes_indexed(const std::vector<Sighting>& sightings,
                                                 const BoxIndex& idx, double min_iou) {
  std::map<std::pair<int, int>, int> votes;
  for (const auto& s : sightings) {
    const auto it = idx.find({s.camera, s.frame});
    if (it == idx.end()) continue;
    double best = min_iou;
    const nlohmann::json* hit = nullptr;
    for (const auto* b : it->second) {
      const double o = core::iou(s.box, truth_box(*b));
      if (o >= best) best = o, hit = b;
    }
    if (!hit) continue;
    const bool ghost = text(*hit, "who") == "ghost";
    ++votes[{ghost ? 1 : 0, hit->at("id").get<int>()}];
  }
  return votes;
}

std::map<int, int> occupant_votes(const std::map<std::pair<int, int>, int>& votes) {
  std::map<int, int> out;
  for (const auto& [k, n] : votes) {
    if (k.first == 0) out[k.second] = n;
  }
  return out;
}

Attribution attribute_votes(const std::map<std::pair<int, int>, int>& votes) {
  Attribution a;
  int most = 0;
  for (const auto& [key, n] : votes) {
    if (n > most) {
      most = n;
      a.kind = key.first == 0 ? Attribution::Kind::kOccupant : Attribution::Kind::kGhost;
      a.id = key.second;
    }
  }
  return a;
}

Attribution attribute_indexed(const std::vector<Sighting>& sightings, const BoxIndex& idx,
                              double min_iou) {
  return attribute_votes(votes_indexed(sightings, idx, min_iou));
}

}  // namespace

Attribution attribute(const std::vector<Sighting>& sightings, const nlohmann::json& truth,
                      double min_iou) {
  return attribute_indexed(sightings, index_boxes(truth), min_iou);
}

VehicleScore score_vehicle(const nlohmann::json& truth, const std::vector<ScoredOccupant>& out) {
  VehicleScore s;
  s.truth_occupants = truth.contains("occupants") ? int(truth["occupants"].size()) : 0;
  s.truth_ghosts = truth.contains("ghosts") ? int(truth["ghosts"].size()) : 0;
  std::set<int> seen, captured, ghosts;
  for (const auto& o : out) {
    ++s.counted;
    if (o.who.kind != Attribution::Kind::kOccupant) {
      ++s.ghosts;
      if (o.who.kind == Attribution::Kind::kGhost) ghosts.insert(o.who.id);
      continue;
    }
    if (!seen.insert(o.who.id).second) ++s.duplicates;
    ++s.submitted;
    if (o.captured) {
      ++s.submitted_passed;
      captured.insert(o.who.id);
    }
  }
  s.captured_occupants = int(captured.size());
  s.ghosts_accepted = int(ghosts.size());
  return s;
}

std::string failure_requirement(const std::string& failure) {
  for (const char* cut : {" cannot be assessed", " was not measured"}) {
    const auto at = failure.find(cut);
    if (at != std::string::npos) return failure.substr(0, at);
  }
  std::string out;
  std::size_t i = 0;
  while (i < failure.size()) {
    std::size_t j = failure.find(' ', i);
    if (j == std::string::npos) j = failure.size();
    const std::string word = failure.substr(i, j - i);
    if (!word.empty() && (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-' ||
                          word[0] == '+' || word == "quality" || word.rfind("\u00b1", 0) == 0)) {
      break;
    }
    out += (out.empty() ? "" : " ") + word;
    i = j + 1;
  }
  return out.empty() ? failure : out;
}

VehicleDiagnosis diagnose_vehicle(const nlohmann::json& truth,
                                  const std::vector<DiagnosedOccupant>& out,
                                  const std::vector<std::map<int, int>>& rejected_votes,
                                  const std::vector<std::map<int, int>>& dropped_votes) {
  VehicleDiagnosis d;
  const auto occupants = truth.value("occupants", nlohmann::json::array());
  auto winner = [](const std::map<int, int>& votes) {
    int id = -1, most = 0;
    for (const auto& [k, n] : votes) {
      if (n > most) most = n, id = k;
    }
    return id;
  };
  std::map<int, std::vector<const DiagnosedOccupant*>> own;  // truth id → its occupants
  std::set<int> voted;
  for (const auto& o : out) {
    const int w = winner(o.votes);
    if (w >= 0) own[w].push_back(&o);
    for (const auto& [k, n] : o.votes) voted.insert(k);
  }
  std::set<int> rejected, dropped;
  for (const auto& v : rejected_votes) {
    if (const int w = winner(v); w >= 0) rejected.insert(w);
  }
  for (const auto& v : dropped_votes) {
    if (const int w = winner(v); w >= 0) dropped.insert(w);
  }
  for (const auto& t : occupants) {
    const int id = t.at("id").get<int>();
    const auto it = own.find(id);
    if (it != own.end()) {
      const auto& mine = it->second;
      bool captured = false;
      for (const auto* o : mine) captured = captured || o->captured;
      if (captured) {
        d.cause.push_back("captured");
      } else {
        d.cause.push_back("failed_profile");
        for (const auto& f : mine.front()->failures) {
          d.failed_requirements.push_back(failure_requirement(f));
        }
      }
      // Duplicates: occupants after the first (captured first) of this person.
      const DiagnosedOccupant* first = mine.front();
      for (const auto* o : mine) {
        if (o->captured) {
          first = o;
          break;
        }
      }
      for (const auto* o : mine) {
        if (o == first) continue;
        bool common = false;
        for (const auto& c : o->cameras) {
          common = common || std::find(first->cameras.begin(), first->cameras.end(), c) !=
                                 first->cameras.end();
        }
        ++(common ? d.duplicates_same_camera : d.duplicates_cross_camera);
      }
      ++d.seat_scored;
      const int row = t.value("row", 0);
      const std::string seat = t.value("seat", std::string());
      if (first->row == row) {
        ++d.row_correct;
        d.seat_correct += first->seat == seat;
      }
    } else if (voted.count(id)) {
      d.cause.push_back("merged");
    } else if (rejected.count(id)) {
      d.cause.push_back("rejected_as_ghost");
    } else if (dropped.count(id)) {
      d.cause.push_back("short_track");
    } else {
      d.cause.push_back("not_detected");
    }
  }
  return d;
}

namespace {

// A truth face's key in the trace: "o<id>" occupant, "g<id>" ghost.
std::string face_key(bool ghost, int id) {
  std::string key(1, ghost ? 'g' : 'o');
  key += std::to_string(id);
  return key;
}

// Votes as JSON: {"o<id>": n, "g<id>": n} (truth occupant / ghost).
nlohmann::json votes_json(const std::map<std::pair<int, int>, int>& votes) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, n] : votes) j[face_key(k.first == 1, k.second)] = n;
  return j;
}

std::string who_json(const Attribution& a) {
  if (a.kind == Attribution::Kind::kNothing) return "";
  return face_key(a.kind == Attribution::Kind::kGhost, a.id);
}

}  // namespace

nlohmann::json trace_vehicle(const nlohmann::json& truth, const VehicleResult& result) {
  const BoxIndex idx = index_boxes(truth);
  const nlohmann::json& join = result.join;
  nlohmann::json tracks = nlohmann::json::array();
  for (std::size_t i = 0; i < result.joined_tracks.size(); ++i) {
    const auto& s = result.joined_tracks[i];
    nlohmann::json t = join.contains("tracks") && i < join["tracks"].size()
                           ? join["tracks"][i]
                           : nlohmann::json::object();
    t["detections"] = s.size();
    t["truth"] = votes_json(votes_indexed(s, idx, 0.3));
    t["joined_by"] = nullptr;
    if (join.contains("steps")) {
      for (const auto& st : join["steps"]) {
        const auto in = [&](const char* side) {
          for (const auto& k : st[side]) {
            if (k.get<std::size_t>() == i) return true;
          }
          return false;
        };
        if (in("a") || in("b")) {
          t["joined_by"] = st["pass"];
          break;
        }
      }
    }
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& p : s) {
      const auto c = p.box.center();
      const auto r1 = [](float x) { return std::round(double(x) * 10) / 10; };  // 0.1 px
      pts.push_back({p.frame, r1(c.x), r1(c.y), r1(p.box.width())});
    }
    t["points"] = std::move(pts);
    tracks.push_back(std::move(t));
  }
  nlohmann::json occupants = nlohmann::json::array();
  std::vector<DiagnosedOccupant> diag;
  const auto& oj = result.json.value("occupants", nlohmann::json::array());
  for (std::size_t k = 0; k < result.occupants.size() && k < oj.size(); ++k) {
    const auto votes = votes_indexed(result.occupants[k].sightings, idx, 0.3);
    DiagnosedOccupant d;
    d.votes = occupant_votes(votes);
    d.captured = oj[k].value("captured", false);
    d.cameras = oj[k].value("cameras", std::vector<std::string>());
    diag.push_back(d);
    occupants.push_back({{"truth", who_json(attribute_votes(votes))},
                         {"votes", votes_json(votes)},
                         {"captured", d.captured},
                         {"cameras", d.cameras}});
  }
  std::vector<std::map<int, int>> rejected, dropped;
  for (const auto& s : result.rejected)
    rejected.push_back(occupant_votes(votes_indexed(s, idx, 0.3)));
  for (const auto& s : result.dropped)
    dropped.push_back(occupant_votes(votes_indexed(s, idx, 0.3)));
  const VehicleDiagnosis d = diagnose_vehicle(truth, diag, rejected, dropped);
  nlohmann::json causes = nlohmann::json::object();
  const auto truth_occ = truth.value("occupants", nlohmann::json::array());
  for (std::size_t k = 0; k < truth_occ.size() && k < d.cause.size(); ++k) {
    causes[face_key(false, truth_occ[k].value("id", -1))] = d.cause[k];
  }
  return {{"vehicle", result.json.value("vehicle", std::string())},
          {"truth_occupants", truth_occ.size()},
          {"occupants_out", result.occupants.size()},
          {"causes", causes},
          {"duplicates_cross_camera", d.duplicates_cross_camera},
          {"duplicates_same_camera", d.duplicates_same_camera},
          {"occupants", occupants},
          {"tracks", tracks},
          {"steps", join.value("steps", nlohmann::json::array())},
          {"similarity", join.value("similarity", nlohmann::json::array())}};
}

nlohmann::json run_lane_bench(const LaneProcessor& processor, const DocumentGallery& gallery,
                              const vision::FaceEngine& engine, const LaneDirectory& lane,
                              const LaneBenchOptions& options) {
  const auto say = [&](const std::string& m) {
    if (options.progress) options.progress(m);
  };
  std::size_t n = lane.vehicles.size();
  if (options.limit > 0) n = std::min(n, options.limit);
  if (n == 0)
    throw Error(ErrorKind::kInvalidInput, lane.dir.string() + ": the lane has no vehicles");
  std::vector<nlohmann::json> truth(n);
  for (std::size_t v = 0; v < n; ++v) {
    truth[v] = read_truth(lane.dir / "vehicles" / lane.vehicles[v].vehicle / "truth.json");
  }
  std::vector<BoxIndex> boxes(n);
  for (std::size_t v = 0; v < n; ++v) boxes[v] = index_boxes(truth[v]);

  // ---- process ----
  struct Out {
    std::size_t vehicle;  // truth vehicle
    ScoredOccupant scored;
    std::optional<core::Template> probe;
    nlohmann::json match;
  };
  std::vector<Out> outs;
  std::vector<double> latencies;
  double video_s = 0, wall_s = 0, analyse_s = 0;
  long frames_total = 0;
  std::size_t sessions = 0;
  // Diagnosis inputs per truth vehicle.
  std::vector<std::vector<DiagnosedOccupant>> diag(n);
  std::vector<std::vector<std::map<int, int>>> diag_rejected(n), diag_dropped(n);
  std::map<std::string, std::map<std::string, long>> ghost_filtered;  // kind → reason → n
  auto ghost_kind = [&](std::size_t v, int id) {
    for (const auto& g : truth[v].value("ghosts", nlohmann::json::array())) {
      if (g.value("id", -1) == id) return g.value("kind", std::string("?"));
    }
    return std::string("?");
  };
  // One output occupant (sightings on the vehicle's own frame clock).
  auto add_occupant = [&](std::size_t v, const std::vector<Sighting>& sightings,
                          const nlohmann::json& o, const std::optional<core::Template>& probe) {
    const auto votes = votes_indexed(sightings, boxes[v], 0.3);
    const bool captured = o["captured"].get<bool>();
    outs.push_back({v, {attribute_votes(votes), captured}, probe, o["match"]});
    DiagnosedOccupant d;
    d.votes = occupant_votes(votes);
    d.captured = captured;
    if (o.contains("profile") && o["profile"].contains("failures")) {
      d.failures = o["profile"]["failures"].get<std::vector<std::string>>();
    }
    d.cameras = o.value("cameras", std::vector<std::string>());
    d.row = o.value("row", 0);
    d.seat = o.value("seat", std::string());
    diag[v].push_back(std::move(d));
  };
  auto add_rejected = [&](std::size_t v, const std::vector<Sighting>& sightings,
                          const std::string& reason) {
    const auto votes = votes_indexed(sightings, boxes[v], 0.3);
    diag_rejected[v].push_back(occupant_votes(votes));
    const auto a = attribute_votes(votes);
    if (a.kind == Attribution::Kind::kGhost) ++ghost_filtered[ghost_kind(v, a.id)][reason];
  };
  auto add_dropped = [&](std::size_t v, const std::vector<Sighting>& sightings) {
    diag_dropped[v].push_back(occupant_votes(votes_indexed(sightings, boxes[v], 0.3)));
  };
  long split_correct = 0, split_merged = 0, split_broken = 0, split_missed = 0;
  std::ofstream trace;
  if (!options.trace.empty()) {
    if (!options.events) {
      throw Error(ErrorKind::kInvalidInput,
                  options.trace.string() + ": --trace needs the sensor events (no --no-events)");
    }
    trace.open(options.trace);
    if (!trace) {
      throw Error(ErrorKind::kIo, options.trace.string() + ": cannot write the trace file");
    }
  }
  const auto t_all = std::chrono::steady_clock::now();
  if (options.events) {
    for (std::size_t v = 0; v < n; ++v) {
      const VehicleResult r = processor.process_detailed(lane.vehicles[v], {}, trace.is_open());
      if (trace.is_open()) trace << trace_vehicle(truth[v], r).dump() << "\n" << std::flush;
      latencies.push_back(r.latency_ms);
      video_s += r.video_s;
      wall_s += r.wall_ms / 1000;
      analyse_s += r.analyse_ms / 1000;
      frames_total += r.frames;
      for (std::size_t k = 0; k < r.occupants.size(); ++k) {
        add_occupant(v, r.occupants[k].sightings, r.json["occupants"][k], r.occupants[k].probe);
      }
      for (std::size_t k = 0; k < r.rejected.size(); ++k) {
        add_rejected(v, r.rejected[k], text(r.json["rejected"][k], "reason"));
      }
      for (const auto& d : r.dropped) add_dropped(v, d);
      if ((v + 1) % 10 == 0 || v + 1 == n) {
        say("bench lane: " + std::to_string(v + 1) + "/" + std::to_string(n) + " vehicles, " +
            std::to_string(video_s / std::max(1e-9, wall_s)).substr(0, 5) + "x real time");
      }
    }
  } else {
    // One stream per camera: the vehicles' files one after another.
    VehiclePass lane_pass = lane.vehicles.front();
    lane_pass.documents = nlohmann::json::array();
    std::vector<std::vector<std::string>> streams(lane_pass.cameras.size());
    std::vector<long> offset(n + 1, 0);
    for (std::size_t v = 0; v < n; ++v) {
      for (std::size_t k = 0; k < streams.size(); ++k) {
        streams[k].push_back(lane.vehicles[v].cameras.at(k).source);
      }
      offset[v + 1] = offset[v] + truth[v].value("frames", lane.frames.at(v));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto results = processor.process_stream(lane_pass, streams);
    wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sessions = results.size();
    frames_total = offset[n];
    video_s = offset[n] / lane.fps;
    // Sightings to (vehicle, local frame); the vehicle with most sightings owns them.
    auto locate = [&](const std::vector<Sighting>& sightings)
        -> std::optional<std::pair<std::size_t, std::vector<Sighting>>> {
      std::map<std::size_t, std::vector<Sighting>> per;
      for (auto s : sightings) {
        const auto it = std::upper_bound(offset.begin(), offset.end(), s.frame);
        const std::size_t v = std::size_t(std::distance(offset.begin(), it)) - 1;
        if (v >= n) continue;
        s.frame -= offset[v];
        per[v].push_back(s);
      }
      if (per.empty()) return std::nullopt;
      auto best = per.begin();
      for (auto it = per.begin(); it != per.end(); ++it) {
        if (it->second.size() > best->second.size()) best = it;
      }
      return std::pair{best->first, best->second};
    };
    // Vehicle split: which truth vehicles each session's occupants belong to.
    std::vector<std::set<std::size_t>> sessions_of(n);
    std::vector<std::set<std::size_t>> vehicles_of(results.size());
    for (std::size_t si = 0; si < results.size(); ++si) {
      const auto& r = results[si];
      latencies.push_back(r.latency_ms);
      for (std::size_t k = 0; k < r.occupants.size(); ++k) {
        const auto at = locate(r.occupants[k].sightings);
        if (!at) continue;
        // In stream mode the vehicle's documents are not known to the pipeline: decisions
        // are taken here against the vehicle's event documents for the 1:few figures.
        add_occupant(at->first, at->second, r.json["occupants"][k], r.occupants[k].probe);
        if (outs.back().scored.who.kind == Attribution::Kind::kOccupant) {
          sessions_of[at->first].insert(si);
          vehicles_of[si].insert(at->first);
        }
      }
      for (std::size_t k = 0; k < r.rejected.size(); ++k) {
        if (const auto at = locate(r.rejected[k])) {
          add_rejected(at->first, at->second, text(r.json["rejected"][k], "reason"));
        }
      }
      for (const auto& d : r.dropped) {
        if (const auto at = locate(d)) add_dropped(at->first, at->second);
      }
    }
    for (std::size_t v = 0; v < n; ++v) {
      if (sessions_of[v].empty()) {
        ++split_missed;
      } else if (sessions_of[v].size() > 1) {
        ++split_broken;
      } else if (vehicles_of[*sessions_of[v].begin()].size() > 1) {
        ++split_merged;
      } else {
        ++split_correct;
      }
    }
  }
  const double bench_wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();

  // ---- score ----
  std::vector<std::vector<ScoredOccupant>> per_vehicle(n);
  for (const auto& o : outs) per_vehicle[o.vehicle].push_back(o.scored);
  long truth_occ = 0, captured = 0, all_captured = 0, count_ok = 0, counted = 0, ghosts = 0,
       duplicates = 0, truth_ghosts = 0, ghosts_accepted = 0, submitted = 0, passed = 0;
  for (std::size_t v = 0; v < n; ++v) {
    const auto s = score_vehicle(truth[v], per_vehicle[v]);
    truth_occ += s.truth_occupants;
    captured += s.captured_occupants;
    all_captured += s.all_captured();
    count_ok += s.count_correct();
    counted += s.counted;
    ghosts += s.ghosts;
    duplicates += s.duplicates;
    truth_ghosts += s.truth_ghosts;
    ghosts_accepted += s.ghosts_accepted;
    submitted += s.submitted;
    passed += s.submitted_passed;
  }

  // ---- identification at the operating threshold ----
  // The port gallery is searched 1:N: its threshold is the calibration's at its size.
  const double port_thr = processor.calibration().port_threshold(gallery.port().size());
  struct IdCounts {
    long mated = 0, mated_hit = 0, non_mated = 0, non_mated_fp = 0;
  };
  IdCounts few, port, few_all, source_few, source_port, decided;
  long decided_mated = 0;
  // The best captured probe per truth occupant.
  std::map<std::pair<std::size_t, int>, const Out*> probe_of;
  for (const auto& o : outs) {
    if (o.scored.who.kind != Attribution::Kind::kOccupant || !o.probe) continue;
    probe_of.emplace(std::pair{o.vehicle, o.scored.who.id}, &o);
  }
  auto search_top = [&](const match::Gallery& g,
                        const core::Template& t) -> std::optional<match::Candidate> {
    const auto c = g.search(t, 1);
    if (c.empty()) return std::nullopt;
    return c[0];
  };
  auto number_of = [&](const match::Candidate& c) -> std::string {
    const auto* d = gallery.find(c.entry.document_id);
    return d ? d->number : "";
  };
  // Source photos: the photo each occupant was drawn from most often.
  std::filesystem::path faces = options.faces;
  if (faces.empty() && lane.lane.contains("sim") && lane.lane["sim"].contains("faces")) {
    faces = lane.lane["sim"]["faces"].get<std::string>();
  }
  struct SourceJob {
    std::size_t v;
    int id;
    std::string image;
    std::optional<core::Template> t;
  };
  std::vector<SourceJob> source_jobs;
  for (std::size_t v = 0; v < n; ++v) {
    std::map<int, std::map<std::string, int>> counts;
    for (const auto& b : truth[v].value("boxes", nlohmann::json::array())) {
      if (text(b, "who") != "occupant" || text(b, "image").empty()) continue;
      ++counts[b["id"].get<int>()][b["image"].get<std::string>()];
    }
    for (const auto& [id, imgs] : counts) {
      auto best = std::max_element(imgs.begin(), imgs.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      });
      source_jobs.push_back({v, id, best->first, std::nullopt});
    }
  }
  const bool have_sources = !faces.empty() && std::filesystem::is_directory(faces);
  if (have_sources) {
    say("bench lane: templates of " + std::to_string(source_jobs.size()) + " source photos");
    core::parallel_for(source_jobs.size(), options.threads, [&](std::size_t i) {
      try {
        const cv::Mat img = core::read_image(faces / source_jobs[i].image);
        vision::DetectOptions o;
        o.min_face = 20;
        const auto fs = engine.analyze(img, o);
        if (const auto k = vision::face_of_interest(fs, img.size())) {
          source_jobs[i].t = engine.embed(img, fs[*k]);
        }
      } catch (const Error&) {
        // counted as a miss below
      }
    });
  }
  std::map<std::pair<std::size_t, int>, const SourceJob*> source_of;
  for (const auto& j : source_jobs) source_of[{j.v, j.id}] = &j;

  // 1:few is the pipeline's one-to-one assignment (match::assign_one_to_one) of the vehicle's
  // documents: over every output occupant with a probe, and over the source photos.
  std::vector<std::vector<std::size_t>> outs_of(n);
  for (std::size_t k = 0; k < outs.size(); ++k) {
    if (outs[k].probe) outs_of[outs[k].vehicle].push_back(k);
  }
  for (std::size_t v = 0; v < n; ++v) {
    const auto vg = gallery.vehicle(lane.vehicles[v].documents);
    const double thr = processor.threshold(vg->size());
    auto assign = [&](const std::vector<std::optional<core::Template>>& probes) {
      std::set<match::Traveller> claimed;
      return match::assign_one_to_one(probes, *vg, thr, vg->size(), claimed);
    };
    std::vector<std::optional<core::Template>> out_probes;
    for (const std::size_t k : outs_of[v]) out_probes.push_back(outs[k].probe);
    const auto out_assigned = assign(out_probes);
    // Per truth occupant, over all of its outputs (a person split in two is identified when
    // either part is): the 1:few assignment, and the document the pipeline matched.
    std::map<int, std::optional<match::Candidate>> few_of_truth;
    std::map<int, std::string> decided_of_truth;
    for (std::size_t i = 0; i < outs_of[v].size(); ++i) {
      const Out& o = outs[outs_of[v][i]];
      if (o.scored.who.kind != Attribution::Kind::kOccupant) continue;
      auto& f = few_of_truth[o.scored.who.id];
      if (!f) f = out_assigned[i].match;
      if (text(o.match, "outcome") == "matched") {
        decided_of_truth.emplace(o.scored.who.id, text(o.match, "document"));
      }
    }
    std::vector<int> source_ids;
    std::vector<std::optional<core::Template>> source_probes;
    for (const auto& j : source_jobs) {
      if (j.v == v) source_ids.push_back(j.id), source_probes.push_back(j.t);
    }
    const auto source_assigned = assign(source_probes);
    std::map<int, std::optional<match::Candidate>> few_of_source;
    for (std::size_t i = 0; i < source_ids.size(); ++i) {
      few_of_source[source_ids[i]] = source_assigned[i].match;
    }
    std::set<std::string> vehicle_docs;
    for (const auto& d : lane.vehicles[v].documents) {
      if (d.contains("number")) vehicle_docs.insert(d["number"].get<std::string>());
    }
    for (const auto& occ : truth[v].value("occupants", nlohmann::json::array())) {
      const int id = occ.at("id").get<int>();
      const bool enrolled =
          occ.contains("enrolled") && occ["enrolled"].is_boolean() && occ["enrolled"].get<bool>();
      const std::string doc = text(occ, "document");
      const bool in_vehicle = enrolled && vehicle_docs.count(doc) && gallery.find_number(doc);
      const bool in_port = enrolled && gallery.find_number(doc);
      // assigned: the occupant's 1:few assignment; t: its template, searched 1:N.
      auto score = [&](const std::optional<match::Candidate>& assigned, const core::Template* t,
                       IdCounts& c_few, IdCounts& c_port) {
        if (in_vehicle || !enrolled) {
          if (enrolled) {
            ++c_few.mated;
            c_few.mated_hit += assigned && number_of(*assigned) == doc;
          } else {
            ++c_few.non_mated;
            c_few.non_mated_fp += assigned.has_value();
          }
        }
        if (in_port || !enrolled) {
          const auto top = t ? search_top(gallery.port(), *t) : std::nullopt;
          const bool over = top && top->score > port_thr;
          if (enrolled) {
            ++c_port.mated;
            c_port.mated_hit += over && number_of(*top) == doc;
          } else {
            ++c_port.non_mated;
            c_port.non_mated_fp += over;
          }
        }
      };
      const auto it = probe_of.find({v, id});
      const core::Template* probe = it != probe_of.end() ? &*it->second->probe : nullptr;
      const std::optional<match::Candidate> probe_few = probe ? few_of_truth[id] : std::nullopt;
      if (probe) {
        score(probe_few, probe, few, port);  // captured occupants only
        // The pipeline's own decision (vehicle first, then port).
        const auto m = decided_of_truth.find(id);
        if (enrolled && in_port) {
          ++decided_mated;
          decided.mated_hit += m != decided_of_truth.end() && m->second == doc;
        } else if (!enrolled) {
          ++decided.non_mated;
          decided.non_mated_fp += m != decided_of_truth.end();
        }
      }
      IdCounts unused;
      score(probe_few, probe, few_all, unused);  // every occupant: not captured = not identified
      if (have_sources) {
        const auto s = source_of.find({v, id});
        const core::Template* st = s != source_of.end() && s->second->t ? &*s->second->t : nullptr;
        score(st ? few_of_source[id] : std::nullopt, st, source_few, source_port);
      }
    }
  }

  // ---- report ----
  const double capture_rate = rate(captured, truth_occ);
  const double all_rate = rate(all_captured, n);
  const double validation = rate(passed, submitted);
  const double count_acc = rate(count_ok, n);
  const double ghost_rate = rate(ghosts, counted);
  const double rtf = wall_s > 0 ? video_s / wall_s : 0;
  const double p50 = percentile(latencies, 0.5), p95 = percentile(latencies, 0.95);
  const auto id_json = [&](const IdCounts& c) {
    return nlohmann::json{{"tir", round4(rate(c.mated_hit, c.mated))},
                          {"mated", c.mated},
                          {"fpir", round4(rate(c.non_mated_fp, c.non_mated))},
                          {"non_mated", c.non_mated}};
  };
  nlohmann::json j;
  j["bench"] = "lane";
  j["scenario"] = lane.dir.string();
  if (lane.lane.contains("sim")) j["sim"] = lane.lane["sim"];
  j["mode"] = options.events ? "sensor events" : "face presence (no events)";
  j["vehicles"] = n;
  if (!options.events) j["sessions"] = sessions;
  j["occupants"] = truth_occ;
  j["thresholds_by_documents"] = processor.threshold_table();
  j["port_threshold"] = port_thr;
  j["gallery_documents"] = gallery.size();
  j["capture"] = {
      {"occupant_capture_rate", round4(capture_rate)},
      {"vehicle_all_captured_rate", round4(all_rate)},
      {"validation_pass_rate", round4(validation)},
      {"validation_note", "best shots of detected (non-ghost) occupants that pass the profile"},
      {"combined_all_captured", round4(all_rate)},
      {"occupant_count_accuracy", round4(count_acc)},
      {"ghost_rate", round4(ghost_rate)},
      {"ghost_occupants", ghosts},
      {"output_occupants", counted},
      {"duplicate_occupants", duplicates},
      {"truth_ghosts", truth_ghosts},
      {"truth_ghosts_accepted", ghosts_accepted},
  };
  // ---- why occupants were lost; seats ----
  std::map<std::string, long> causes, requirements;
  long dup_cross = 0, dup_same = 0, seat_scored = 0, row_ok = 0, seat_ok = 0, over = 0, under = 0;
  std::map<std::string, std::pair<long, long>> seat_by_truth;  // "row/seat" → (scored, right)
  for (std::size_t v = 0; v < n; ++v) {
    const auto d = diagnose_vehicle(truth[v], diag[v], diag_rejected[v], diag_dropped[v]);
    for (const auto& c : d.cause) ++causes[c];
    for (const auto& r : d.failed_requirements) ++requirements[r];
    dup_cross += d.duplicates_cross_camera;
    dup_same += d.duplicates_same_camera;
    seat_scored += d.seat_scored;
    row_ok += d.row_correct;
    seat_ok += d.seat_correct;
    const auto counted_v = long(diag[v].size());
    const auto truth_v = long(truth[v].value("occupants", nlohmann::json::array()).size());
    over += counted_v > truth_v;
    under += counted_v < truth_v;
  }
  nlohmann::json lost = nlohmann::json::object();
  for (const auto& [c, k] : causes) {
    if (c != "captured") lost[c] = k;
  }
  j["losses"] = {
      {"lost_occupants", truth_occ - captured},
      {"by_cause", lost},
      {"failed_requirements", requirements},
      {"causes_note",
       "per truth occupant not captured: failed_profile (its own occupant, best shot failed the "
       "profile; failed_requirements counts each failing requirement), merged (its faces went "
       "into someone else's occupant), rejected_as_ghost, short_track (tracks shorter than "
       "min_detections only), not_detected"},
      {"vehicles_over_counted", over},
      {"vehicles_under_counted", under},
      {"duplicates_cross_camera", dup_cross},
      {"duplicates_same_camera", dup_same},
  };
  j["seats"] = {{"scored_occupants", seat_scored},
                {"row_accuracy", round4(rate(row_ok, seat_scored))},
                {"seat_accuracy", round4(rate(seat_ok, seat_scored))},
                {"note", "truth occupants with an occupant of their own: row, and row + seat"}};
  // Ghosts per kind: accepted as occupants vs taken by a filter.
  std::map<std::string, long> truth_kind, accepted_kind;
  for (std::size_t v = 0; v < n; ++v) {
    for (const auto& g : truth[v].value("ghosts", nlohmann::json::array())) {
      ++truth_kind[g.value("kind", std::string("?"))];
    }
    std::set<int> acc;
    for (const auto& o : outs) {
      if (o.vehicle == v && o.scored.who.kind == Attribution::Kind::kGhost)
        acc.insert(o.scored.who.id);
    }
    for (const int id : acc) ++accepted_kind[ghost_kind(v, id)];
  }
  nlohmann::json gk = nlohmann::json::object();
  for (const auto& [kind, k] : truth_kind) {
    gk[kind] = {{"truth", k},
                {"accepted_as_occupant", accepted_kind[kind]},
                {"accepted_rate", round4(rate(accepted_kind[kind], k))},
                {"filtered_by", ghost_filtered[kind]}};
  }
  j["capture"]["ghosts_by_kind"] = gk;
  if (!options.events) {
    j["vehicle_split"] = {
        {"sessions", sessions},
        {"vehicles", n},
        {"accuracy", round4(rate(split_correct, n))},
        {"correct", split_correct},
        {"merged_with_another", split_merged},
        {"split_in_several", split_broken},
        {"no_session", split_missed},
        {"note",
         "a vehicle is split correctly when its occupants are in exactly one session that "
         "holds no other vehicle's occupants"}};
  }
  j["identification"] = {
      {"captured_1_few", id_json(few)},
      {"captured_1_n", id_json(port)},
      {"all_occupants_1_few", id_json(few_all)},
      {"pipeline_decision",
       {{"tir", round4(rate(decided.mated_hit, decided_mated))},
        {"mated", decided_mated},
        {"fpir", round4(rate(decided.non_mated_fp, decided.non_mated))},
        {"non_mated", decided.non_mated}}},
  };
  if (have_sources) {
    j["identification"]["source_photos_1_few"] = id_json(source_few);
    j["identification"]["source_photos_1_n"] = id_json(source_port);
    j["identification"]["lane_loss_1_few"] = round4(rate(source_few.mated_hit, source_few.mated) -
                                                    rate(few_all.mated_hit, few_all.mated));
  }
  j["speed"] = {{"real_time_factor", round4(rtf)},
                {"video_s", round4(video_s)},
                {"wall_s", round4(wall_s)},
                {"analyse_s", round4(analyse_s)},
                {"bench_wall_s", round4(bench_wall)},
                {"frames_per_camera", frames_total},
                {"cameras", lane.vehicles.front().cameras.size()},
                {"latency_ms_median", std::round(p50)},
                {"latency_ms_p95", std::round(p95)},
                {"latency_note",
                 "after the last frame is analysed: joining, best shot, templates, "
                 "matching (assumes the analysis keeps pace: real_time_factor >= 1)"}};
  j["anchors"] = {
      {"cbp_anzalduas_all_captured", 0.76},
      {"cbp_anzalduas_validation", 0.81},
      {"cbp_anzalduas_combined", 0.61},
      {"dhs_rally_2022_best_identified_within_2s", 0.97},
  };
  j["bars"] = {{"occupant_capture_rate", 0.97},
               {"vehicle_all_captured_rate", 0.92},
               {"occupant_count_accuracy", 0.95},
               {"ghost_rate_max", 0.01},
               {"tir_1_few", 0.90},
               {"fpir_max", 0.01},
               {"real_time_factor", 1.0},
               {"latency_ms_median_max", 1000}};
  return j;
}

}  // namespace laneface::capture
