// process: the lane pipeline over a lane directory (docs/lane-format.md); bench lane: the same
// on a simulated lane, scored on its ground truth. Progress on stderr; one JSON line on stdout.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>

#include "capture/document_gallery.hpp"
#include "capture/lane_bench.hpp"
#include "capture/lane_config.hpp"
#include "capture/lane_processor.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "quality/assessor.hpp"
#include "store/store.hpp"
#include "vision/face_engine.hpp"

namespace laneface::app {
namespace {

using core::Error;
using core::ErrorKind;

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error(ErrorKind::kIo, path.string() + ": cannot write");
}

void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw Error(ErrorKind::kIo, path.string() + ": cannot write");
}

// Writes OUT/<vehicle>.json and OUT/best/<vehicle>_<k>.jpg; adds "image" paths to the JSON.
void write_vehicle(const std::filesystem::path& out, capture::VehicleResult& r) {
  const std::string v = r.json["vehicle"].get<std::string>();
  std::filesystem::create_directories(out / "best");
  for (std::size_t k = 0; k < r.occupants.size(); ++k) {
    if (r.occupants[k].best_jpeg.empty()) continue;
    const std::string name = "best/" + v + "_" + std::to_string(k) + ".jpg";
    write_bytes(out / name, r.occupants[k].best_jpeg);
    r.json["occupants"][k]["best"]["image"] = name;
  }
  write_file(out / (v + ".json"), r.json.dump(2) + "\n");
}

struct LaneFlags {
  std::string lane_dir, config = capture::default_lane_config_path().string(), out, db, key_file,
                        quality_config = quality::default_quality_config_path().string(), json,
                        faces, trace;
  bool no_events = false;
  std::size_t limit = 0;
  int detect_stride = 0;
};

capture::LaneConfig load_config(const LaneFlags& f, const Globals& g,
                                const capture::LaneDirectory& lane) {
  auto c = capture::LaneConfig::load(f.config);
  // The lane's own camera calibration (lane.json), when it has one, over the config's.
  capture::apply_lane_calibration(c, lane.lane, (lane.dir / "lane.json").string());
  c.threads = g.threads;
  if (f.detect_stride > 0) c.detect_stride = f.detect_stride;
  return c;
}

void register_process(CLI::App& app, Globals& globals, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "process",
      "the lane pipeline over a lane directory: occupants, best shots, quality, matches; "
      "per-vehicle JSON in --out; ends with one JSON summary line");
  auto f = std::make_shared<LaneFlags>();
  cmd->add_option("LANE_DIR", f->lane_dir, "lane directory (docs/lane-format.md)")->required();
  cmd->add_option("--config", f->config, "lane config (TOML)")->capture_default_str();
  cmd->add_option("--quality-config", f->quality_config, "quality config (TOML)")
      ->capture_default_str();
  cmd->add_option("--out", f->out, "write <vehicle>.json and best/<vehicle>_<k>.jpg here");
  cmd->add_flag("--no-events", f->no_events,
                "ignore event.json: split each camera's stream into vehicles by face presence");
  cmd->add_option("--db", f->db,
                  "record crossings, occupants, decisions and encrypted photos in this store; "
                  "documents are matched against the store's (laneface enrol)");
  cmd->add_option("--key-file", f->key_file,
                  "encryption key (32 bytes or 64 hex); default $LANEFACE_KEY");
  cmd->add_option("--limit", f->limit, "process only the first N vehicles");
  cmd->add_option("--detect-stride", f->detect_stride, "override the config's detection stride")
      ->check(CLI::Range(1, 30));
  cmd->callback([f, &globals, &exit_code] {
    const auto t0 = std::chrono::steady_clock::now();
    const auto lane = capture::read_lane_directory(f->lane_dir, !f->no_events);
    const auto config = load_config(*f, globals, lane);
    const vision::FaceEngine engine(globals.engine_options());
    const quality::Assessor assessor(quality::QualityConfig::load(f->quality_config),
                                     quality::Assessor::load_models(engine.manifest()));
    std::unique_ptr<store::Store> db;
    std::optional<capture::DocumentGallery> gallery;
    const auto& rec = engine.recognizer();
    if (!f->db.empty()) {
      store::StoreConfig sc;
      sc.path = f->db;
      sc.key = f->key_file.empty() ? store::key_from_env()
                                   : std::optional(store::load_key_file(f->key_file));
      if (!sc.key) {
        throw Error(ErrorKind::kConfig,
                    "process: photos and templates are stored encrypted: pass --key-file or set "
                    "LANEFACE_KEY");
      }
      db = store::open_store(sc);
      db->register_model(rec.model_id(), int(rec.template_size()));
      gallery.emplace(capture::load_document_gallery(*db, rec, "laneface process"));
      if (gallery->size() == 0) {
        std::fprintf(stderr,
                     "laneface process: the store holds no document templates (enrol them with "
                     "`laneface enrol`); occupants will be referred\n");
      }
    } else if (std::filesystem::exists(lane.dir / "documents.csv")) {
      capture::CsvEnrolReport rep;
      gallery.emplace(capture::enrol_csv_in_memory(
          lane.dir / "documents.csv", lane.dir / "documents", engine, globals.threads, &rep));
      std::fprintf(stderr, "laneface process: %zu documents in memory (%zu rows left out)\n",
                   rep.enrolled, rep.errors.size());
    }
    const capture::LaneProcessor processor(engine, assessor, config, db.get(),
                                           gallery ? &*gallery : nullptr);
    std::vector<capture::VehicleResult> results;
    std::size_t n = lane.vehicles.size();
    if (f->limit > 0) n = std::min(n, f->limit);
    if (f->no_events) {
      capture::VehiclePass lane_pass = lane.vehicles.at(0);
      lane_pass.documents = nlohmann::json::array();
      std::vector<std::vector<std::string>> streams(lane_pass.cameras.size());
      for (std::size_t v = 0; v < n; ++v) {
        for (std::size_t k = 0; k < streams.size(); ++k) {
          streams[k].push_back(lane.vehicles[v].cameras.at(k).source);
        }
      }
      results = processor.process_stream(lane_pass, streams);
    } else {
      for (std::size_t v = 0; v < n; ++v) {
        results.push_back(processor.process_detailed(lane.vehicles[v]));
        const auto& j = results.back().json;
        std::fprintf(stderr, "laneface process: %s: %d occupants, %zu not captured, %.0f ms\n",
                     j["vehicle"].get<std::string>().c_str(), j["occupant_count"].get<int>(),
                     j["not_captured"].size(), results.back().wall_ms);
      }
    }
    std::size_t occupants = 0, captured = 0, matched = 0, rejected = 0;
    double video_s = 0;
    for (auto& r : results) {
      for (const auto& o : r.json["occupants"]) {
        ++occupants;
        captured += o["captured"].get<bool>();
        matched += o["match"]["outcome"] == "matched";
      }
      rejected += r.json["rejected"].size();
      video_s += r.video_s;
      if (!f->out.empty()) write_vehicle(f->out, r);
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json summary = {{"command", "process"},
                              {"lane", lane.lane.value("lane", "")},
                              {"mode", f->no_events ? "face presence" : "sensor events"},
                              {"vehicles", results.size()},
                              {"occupants", occupants},
                              {"captured", captured},
                              {"matched", matched},
                              {"referred", occupants - matched},
                              {"rejected_faces", rejected},
                              {"thresholds_by_documents", processor.threshold_table()},
                              {"wall_s", wall}};
    if (!f->out.empty()) summary["out"] = f->out;
    if (db) summary["db"] = f->db;
    std::cout << summary.dump() << std::endl;
    exit_code = 0;
  });
}

void register_bench_lane(CLI::App& app, Globals& globals, int& exit_code) {
  CLI::App* bench = nullptr;
  try {
    bench = app.get_subcommand("bench");
  } catch (const CLI::OptionNotFound&) {
    bench = app.add_subcommand("bench", "speed measurements (end with one JSON line)");
    bench->require_subcommand(1);
  }
  auto* cmd = bench->add_subcommand(
      "lane",
      "process a simulated lane and score it on truth.json: capture, count, ghosts, "
      "identification (1:few, 1:N, and on the source photos), real-time factor, latency, "
      "beside the CBP/DHS anchors");
  auto f = std::make_shared<LaneFlags>();
  cmd->add_option("--scenario", f->lane_dir, "simulated lane directory")->required();
  cmd->add_option("--config", f->config, "lane config (TOML)")->capture_default_str();
  cmd->add_option("--quality-config", f->quality_config, "quality config (TOML)")
      ->capture_default_str();
  cmd->add_option("--json", f->json, "also write the report to this file");
  cmd->add_flag("--no-events", f->no_events, "split the streams by face presence");
  cmd->add_option("--limit", f->limit, "score only the first N vehicles");
  cmd->add_option("--faces", f->faces, "source photo folder (default: lane.json sim.faces)");
  cmd->add_option("--trace", f->trace,
                  "write the join trace here: one JSON line per vehicle (docs/lane-format.md)");
  cmd->add_option("--detect-stride", f->detect_stride, "override the config's detection stride")
      ->check(CLI::Range(1, 30));
  cmd->callback([f, &globals, &exit_code] {
    const auto lane = capture::read_lane_directory(f->lane_dir, true);
    const auto config = load_config(*f, globals, lane);
    const vision::FaceEngine engine(globals.engine_options());
    const quality::Assessor assessor(quality::QualityConfig::load(f->quality_config),
                                     quality::Assessor::load_models(engine.manifest()));
    cv::setNumThreads(1);
    capture::CsvEnrolReport rep;
    std::fprintf(stderr, "bench lane: enrolling documents.csv in memory\n");
    const auto gallery = capture::enrol_csv_in_memory(
        lane.dir / "documents.csv", lane.dir / "documents", engine, globals.threads, &rep);
    const capture::LaneProcessor processor(engine, assessor, config, nullptr, &gallery);
    capture::LaneBenchOptions o;
    o.events = !f->no_events;
    o.limit = f->limit;
    o.faces = f->faces;
    o.trace = f->trace;
    o.threads = globals.threads;
    o.progress = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
    auto report = capture::run_lane_bench(processor, gallery, engine, lane, o);
    report["documents_enrolled"] = rep.enrolled;
    report["documents_left_out"] = rep.errors.size();
    report["config"] = {{"file", f->config},
                        {"detect_stride", config.detect_stride},
                        {"min_face", config.min_face},
                        {"threads", config.threads}};
    if (!f->json.empty()) write_file(f->json, report.dump(2) + "\n");
    std::cout << report.dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace

void register_lane_commands(CLI::App& app, Globals& globals, int& exit_code) {
  register_process(app, globals, exit_code);
  register_bench_lane(app, globals, exit_code);
}

}  // namespace laneface::app
