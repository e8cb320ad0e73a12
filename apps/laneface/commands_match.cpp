// bench search: search index speed and recall on synthetic galleries; ends with one JSON line.
// search: a photo's faces searched 1:few / 1:N in galleries loaded from the store.
#include <cstdio>
#include <iostream>
#include <memory>
#include <opencv2/core.hpp>

#include "capture/document_gallery.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "core/image_io.hpp"
#include "match/calibration.hpp"
#include "match/search_bench.hpp"
#include "match/store_gallery.hpp"
#include "store/store.hpp"

namespace laneface::app {
namespace {

// `laneface search`: every face in a photo against the vehicle gallery (the portraits of
// --documents, 1:few) and the port gallery (portraits and non-US encounter templates, 1:N),
// both loaded from the store for the engine's recognizer. Prints the top candidates and the
// decision: the 1:few and 1:N thresholds of the recognizer's match calibration
// (config/calibration/<model>.toml, `laneface calibrate threshold`), or --threshold for both.
// Audited as a search (counts, no templates).
void register_search_command(CLI::App& app, Globals& globals, int& exit_code) {
  struct Flags {
    std::string db, image, key_file, index = "exact_float";
    std::vector<std::int64_t> documents;
    std::optional<double> threshold;
    std::string calibration =
        (std::filesystem::path(LANEFACE_SOURCE_ROOT) / "config" / "calibration").string();
    std::size_t k = 3;
    int min_face = 24;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "search", "search the faces of a photo in galleries loaded from the store (1:few, 1:N)");
  cmd->add_option("--db", f->db, "the database file")->required();
  cmd->add_option("--image", f->image, "the photo")->required();
  cmd->add_option("--key-file", f->key_file,
                  "encryption key file (32 bytes or 64 hex); default $LANEFACE_KEY");
  cmd->add_option("--documents", f->documents,
                  "store ids of the documents read at the lane (the 1:few gallery)")
      ->delimiter(',');
  cmd->add_option("--threshold", f->threshold,
                  "score above which the best candidate matches, in both galleries (instead of "
                  "the calibration's)");
  cmd->add_option("--calibration", f->calibration,
                  "match calibration: a file, or a directory of <model>.toml files")
      ->capture_default_str();
  cmd->add_option("-k", f->k, "candidates per gallery")->capture_default_str();
  cmd->add_option("--index", f->index, "port gallery index: exact_float, exact_int8, faiss_ivf")
      ->capture_default_str();
  cmd->add_option("--min-face", f->min_face, "smallest face width, pixels")->capture_default_str();
  cmd->callback([f, &globals, &exit_code] {
    store::StoreConfig config;
    config.path = f->db;
    config.create_if_missing = false;
    config.key = f->key_file.empty() ? store::key_from_env()
                                     : std::optional(store::load_key_file(f->key_file));
    if (!config.key) {
      throw core::Error(core::ErrorKind::kConfig,
                        "search: templates are stored encrypted: pass --key-file or set "
                        "LANEFACE_KEY");
    }
    const auto store = store::open_store(config);
    const cv::Mat img = core::read_image(f->image);
    const vision::FaceEngine engine(globals.engine_options());
    const auto& rec = engine.recognizer();
    const std::string& model = rec.model_id();
    // Fused: an exact scan of the fused score (match::create_fused_index).
    const auto metric = capture::gallery_metric(rec);
    const auto templates = store->load_templates(model, "laneface search");
    match::StoreGalleryOptions options;
    options.kind = match::parse_index_kind(f->index);
    const auto port = match::build_gallery(templates, model, rec.template_size(), metric, options);
    const auto vehicle =
        match::build_vehicle_gallery(templates, model, rec.template_size(), metric, f->documents);
    const auto faces = engine.analyze(img, {.min_face = f->min_face});
    nlohmann::json out{{"image", std::filesystem::path(f->image).filename().string()},
                       {"model", model},
                       {"vehicle_gallery", vehicle.size()},
                       {"port_gallery", port.size()},
                       {"faces", nlohmann::json::array()}};
    double thresholds[2] = {0, 0};  // vehicle (1:few), port (1:N)
    if (f->threshold) {
      thresholds[0] = thresholds[1] = *f->threshold;
      out["threshold"] = *f->threshold;
    } else {
      const auto c = match::load_calibration_for(f->calibration, model);
      thresholds[0] = c.threshold;
      thresholds[1] = c.port_threshold(port.size());
      out["calibration"] = {{"file", match::calibration_file(f->calibration, model).string()},
                            {"vehicle_threshold", thresholds[0]},
                            {"target_fmr", c.target_fmr},
                            {"port_threshold", thresholds[1]},
                            {"target_fpir", c.target_fpir},
                            {"port_extrapolated", c.port_extrapolated(port.size())}};
    }
    auto candidates = [&](const match::Gallery& g, const core::Template& t) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& c : g.search(t, f->k)) {
        list.push_back(
            {{"template_id", c.entry.template_id},
             {"subject_id", c.entry.subject_id},
             {"document_id", c.entry.document_id},
             {"kind", c.entry.kind == match::EntryKind::kDocument ? "document" : "encounter"},
             {"score", c.score}});
      }
      return list;
    };
    for (const auto& face : faces) {
      const auto t = engine.embed(img, face);
      nlohmann::json j{{"box", {face.box.x1, face.box.y1, face.box.x2, face.box.y2}},
                       {"vehicle", candidates(vehicle, t)},
                       {"port", candidates(port, t)}};
      {
        // 1:few first, then 1:N, as the matcher does.
        std::string decision = "not_matched";
        for (const int g : {0, 1}) {
          const char* name = g ? "port" : "vehicle";
          if (!j[name].empty() && j[name][0]["score"].get<double>() > thresholds[g]) {
            decision = std::string("matched_") + name;
            break;
          }
        }
        j["decision"] = decision;
      }
      out["faces"].push_back(j);
    }
    store->record_event({"laneface search",
                         "search",
                         "",
                         {{"model", model},
                          {"faces", faces.size()},
                          {"vehicle_gallery", vehicle.size()},
                          {"port_gallery", port.size()}}});
    std::cout << out.dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace

void register_match_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* bench = app.add_subcommand("bench", "speed measurements (end with one JSON line)");
  bench->require_subcommand(1);
  auto* cmd = bench->add_subcommand("search",
                                    "exact float/int8 and FAISS search on synthetic templates: "
                                    "build time, ms/query, recall@1, memory");
  auto o = std::make_shared<match::SearchBenchOptions>();
  cmd->add_option("--sizes", o->sizes, "gallery sizes")->delimiter(',')->capture_default_str();
  cmd->add_option("--dim", o->dim, "template dimension")
      ->check(CLI::Range(8, 4096))
      ->capture_default_str();
  cmd->add_option("--queries", o->queries, "mated queries per size (recall@1)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--timed-queries", o->timed_queries,
                  "queries timed one by one on the exact scans")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--nlist", o->faiss.nlist, "FAISS IVF cells")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--nprobe", o->nprobes, "FAISS cells visited per query, swept")
      ->delimiter(',')
      ->capture_default_str();
  cmd->callback([o, &globals, &exit_code] {
    o->threads = globals.threads;
    const auto report = match::run_search_bench(
        *o, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    std::cout << nlohmann::json{{"bench", "search"}, {"results", report}}.dump() << std::endl;
    exit_code = 0;
  });
  register_search_command(app, globals, exit_code);
}

}  // namespace laneface::app
