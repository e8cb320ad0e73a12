#include "capture/lane_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "capture/document_gallery.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "core/parallel.hpp"
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

Attribution attribute_indexed(const std::vector<Sighting>& sightings, const BoxIndex& idx,
                              double min_iou) {
  std::map<std::pair<int, int>, int> votes;  // (kind, id) → votes
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
  const auto t_all = std::chrono::steady_clock::now();
  if (options.events) {
    for (std::size_t v = 0; v < n; ++v) {
      const VehicleResult r = processor.process_detailed(lane.vehicles[v]);
      latencies.push_back(r.latency_ms);
      video_s += r.video_s;
      wall_s += r.wall_ms / 1000;
      analyse_s += r.analyse_ms / 1000;
      frames_total += r.frames;
      for (std::size_t k = 0; k < r.occupants.size(); ++k) {
        const auto& occ = r.occupants[k];
        Out o{v,
              {attribute_indexed(occ.sightings, boxes[v], 0.3),
               r.json["occupants"][k]["captured"].get<bool>()},
              occ.probe,
              r.json["occupants"][k]["match"]};
        outs.push_back(std::move(o));
      }
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
    for (const auto& r : results) {
      latencies.push_back(r.latency_ms);
      for (std::size_t k = 0; k < r.occupants.size(); ++k) {
        const auto& occ = r.occupants[k];
        // Sightings to (vehicle, local frame); the vehicle with most sightings owns it.
        std::map<std::size_t, std::vector<Sighting>> per;
        for (auto s : occ.sightings) {
          const auto it = std::upper_bound(offset.begin(), offset.end(), s.frame);
          const std::size_t v = std::size_t(std::distance(offset.begin(), it)) - 1;
          if (v >= n) continue;
          s.frame -= offset[v];
          per[v].push_back(s);
        }
        if (per.empty()) continue;
        auto best = per.begin();
        for (auto it = per.begin(); it != per.end(); ++it) {
          if (it->second.size() > best->second.size()) best = it;
        }
        const std::size_t v = best->first;
        // In stream mode the vehicle's documents are not known to the pipeline: decisions
        // are taken here against the vehicle's event documents for the 1:few figures.
        outs.push_back({v,
                        {attribute_indexed(best->second, boxes[v], 0.3),
                         r.json["occupants"][k]["captured"].get<bool>()},
                        occ.probe,
                        r.json["occupants"][k]["match"]});
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
  const double thr = processor.threshold();
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

  for (std::size_t v = 0; v < n; ++v) {
    const auto vg = gallery.vehicle(lane.vehicles[v].documents);
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
      auto score = [&](const core::Template* t, IdCounts& c_few, IdCounts& c_port) {
        // 1:few
        if (in_vehicle || !enrolled) {
          const auto top = t ? search_top(*vg, *t) : std::nullopt;
          const bool over = top && top->score > thr;
          if (enrolled) {
            ++c_few.mated;
            c_few.mated_hit += over && number_of(*top) == doc;
          } else {
            ++c_few.non_mated;
            c_few.non_mated_fp += over;
          }
        }
        if (in_port || !enrolled) {
          const auto top = t ? search_top(gallery.port(), *t) : std::nullopt;
          const bool over = top && top->score > thr;
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
      if (probe) {
        score(probe, few, port);  // captured occupants only
        // The pipeline's own decision (vehicle first, then port).
        const auto& m = it->second->match;
        if (enrolled && in_port) {
          ++decided_mated;
          decided.mated_hit += text(m, "outcome") == "matched" && text(m, "document") == doc;
        } else if (!enrolled) {
          ++decided.non_mated;
          decided.non_mated_fp += text(m, "outcome") == "matched";
        }
      }
      IdCounts unused;
      score(probe, few_all, unused);  // every occupant: not captured = not identified
      if (have_sources) {
        const auto s = source_of.find({v, id});
        const core::Template* st = s != source_of.end() && s->second->t ? &*s->second->t : nullptr;
        score(st, source_few, source_port);
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
  j["threshold"] = thr;
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
