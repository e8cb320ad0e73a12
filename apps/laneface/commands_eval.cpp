// eval: accuracy protocols on named data; each prints a summary and ends with one JSON line.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <span>

#include "capture/lane_config.hpp"
#include "capture/lane_processor.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "eval/identify.hpp"
#include "eval/lfw.hpp"
#include "eval/profile_fnmr.hpp"
#include "match/calibration.hpp"
#include "quality/assessor.hpp"
#include "vision/fused_recognizer.hpp"

namespace laneface::app {

std::filesystem::path data_root(const std::string& flag, const std::string& sub) {  // commands.hpp
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LANEFACE_DATA"); env && *env)
    return std::filesystem::path(env) / sub;
  throw core::Error(core::ErrorKind::kNotFound,
                    "no data folder: pass --data DIR or set LANEFACE_DATA");
}

namespace {

// The command's JSON report, indented, at `path` too (--json).
void write_json_file(const std::string& path, const nlohmann::json& report) {
  std::ofstream f(path);
  f << report.dump(2) << "\n";
  if (!f) throw core::Error(core::ErrorKind::kIo, path + ": cannot write");
}

}  // namespace

void register_eval_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* eval = app.add_subcommand("eval", "accuracy protocols (end with one JSON line)");
  eval->require_subcommand(1);
  {
    auto* cmd =
        eval->add_subcommand("lfw", "LFW view 2: 10-fold accuracy, TAR at FAR 1e-2 and 1e-3");
    auto data = std::make_shared<std::string>();
    auto jitter = std::make_shared<float>(0);
    cmd->add_option("--data", *data,
                    "LFW folder with pairs.txt and lfw/ (default: $LANEFACE_DATA/lfw)");
    cmd->add_option("--landmark-jitter", *jitter,
                    "experiment: average landmarks over boxes shifted by this fraction")
        ->check(CLI::Range(0.0, 0.25));
    cmd->callback([=, &globals, &exit_code] {
      eval::LfwOptions o;
      o.data = data_root(*data, "lfw");
      o.threads = globals.threads;
      o.landmark_jitter = *jitter;
      cv::setNumThreads(1);  // parallel across images, one core per net
      const vision::FaceEngine engine(globals.engine_options());
      const auto report = eval::run_lfw(engine, o);
      std::fprintf(stderr,
                   "LFW view 2: accuracy %.2f %% (+-%.2f), TAR %.2f %% at FAR 1e-3, %.2f %% at "
                   "1e-2, %d failures to detect\n",
                   100 * report["accuracy"].get<double>(),
                   100 * report["accuracy_std"].get<double>(),
                   100 * report["tar_at_far"]["far_1e-3"]["tar"].get<double>(),
                   100 * report["tar_at_far"]["far_1e-2"]["tar"].get<double>(),
                   report["failures_to_detect"].get<int>());
      std::cout << report.dump() << std::endl;
      exit_code = 0;
    });
  }
  {
    auto* cmd =
        eval->add_subcommand("identify", "1:N identification: rank-1, FNIR at FPIR 1e-2 and 1e-3");
    auto data = std::make_shared<std::string>();
    auto quality_config =
        std::make_shared<std::string>(quality::default_quality_config_path().string());
    auto no_quality = std::make_shared<bool>(false);
    auto gate_bands = std::make_shared<std::vector<double>>();
    cmd->add_option("--data", *data,
                    "folder with labels.csv (image,identity) (default: $LANEFACE_DATA/celeba-dev)");
    cmd->add_option("--gate-bands", *gate_bands,
                    "fused recognizer: also report fusing only when the first model's best "
                    "score is within each band of its threshold (default: the fusion file's "
                    "[fusion.gate] band, when set)")
        ->delimiter(',');
    cmd->add_option("--quality-config", *quality_config,
                    "quality config: portraits chosen by the `document` profile, probes failing "
                    "`lane-capture` discarded in a second set of figures")
        ->capture_default_str();
    cmd->add_flag("--no-quality", *no_quality,
                  "choose portraits by face geometry only; no discard figures");
    cmd->callback([=, &globals, &exit_code] {
      eval::IdentifyOptions o;
      o.data = data_root(*data, "celeba-dev");
      o.threads = globals.threads;
      cv::setNumThreads(1);
      const vision::FaceEngine engine(globals.engine_options());
      o.gate_bands = *gate_bands;
      if (const auto* f = dynamic_cast<const vision::FusedRecognizer*>(&engine.recognizer());
          f && o.gate_bands.empty() && f->params().gate_band > 0)
        o.gate_bands.push_back(f->params().gate_band);
      std::optional<quality::Assessor> assessor;
      if (!*no_quality) {
        assessor.emplace(quality::QualityConfig::load(*quality_config),
                         quality::Assessor::load_models(engine.manifest()));
        o.assess = [&assessor](const cv::Mat& img, std::span<const core::Face> faces,
                               std::size_t k) {
          const auto report = assessor->assess(img, faces, k);
          const auto document = assessor->validate(report, "document");
          return eval::PhotoQuality{
              .lane_capture = assessor->validate(report, "lane-capture").passed,
              .document = document.passed,
              .document_failures = int(document.failures.size()),
              .unified = report.unified()};
        };
      }
      const auto r = eval::run_identify(engine, o);
      std::fprintf(stderr,
                   "identify: rank-1 %.2f %%, FNIR %.2f %% at FPIR 1e-2, %.2f %% at 1e-3 (%d "
                   "mated, %d non-mated searches)\n",
                   100 * r["rank1"].get<double>(),
                   100 * r["fnir_at_fpir"]["fpir_0.01"]["fnir"].get<double>(),
                   100 * r["fnir_at_fpir"]["fpir_0.001"]["fnir"].get<double>(),
                   r["mated_searches"].get<int>(), r["nonmated_searches"].get<int>());
      if (r.contains("lane_capture_discarded")) {
        const auto& d = r["lane_capture_discarded"];
        std::fprintf(stderr,
                     "identify, probes failing lane-capture discarded (%d mated, %d non-mated): "
                     "rank-1 %.2f %%, FNIR %.2f %% at FPIR 1e-2, %.2f %% at 1e-3\n",
                     d["discarded_mated"].get<int>(), d["discarded_nonmated"].get<int>(),
                     100 * d["rank1"].get<double>(),
                     100 * d["fnir_at_fpir"]["fpir_0.01"]["fnir"].get<double>(),
                     100 * d["fnir_at_fpir"]["fpir_0.001"]["fnir"].get<double>());
      }
      std::cout << r.dump() << std::endl;
      exit_code = 0;
    });
  }

  {
    auto* cmd = eval->add_subcommand(
        "profile-fnmr",
        "evidence for the lane-capture profile's limits: FNMR at the lane's 1:few threshold "
        "against a document-profile reference, by probe |yaw| and by inter-eye distance "
        "(probes downscaled, then detected and embedded again); calibration half only");
    auto data = std::make_shared<std::string>();
    auto quality_config =
        std::make_shared<std::string>(quality::default_quality_config_path().string());
    auto lane_config = std::make_shared<std::string>(capture::default_lane_config_path().string());
    auto ieds = std::make_shared<std::vector<double>>(std::vector<double>{12, 16, 20, 24, 28, 32});
    auto limit = std::make_shared<std::size_t>(0);
    auto json = std::make_shared<std::string>();
    cmd->add_option("--data", *data,
                    "folder with labels.csv (image,identity) (default: $LANEFACE_DATA/celeba-dev)");
    cmd->add_option("--quality-config", *quality_config, "quality config (profiles, measures)")
        ->capture_default_str();
    cmd->add_option("--lane-config", *lane_config,
                    "lane config: its calibration and vehicle_target_* give the threshold "
                    "(a vehicle with one document)")
        ->capture_default_str();
    cmd->add_option("--ieds", *ieds, "target inter-eye distances, px")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--limit-identities", *limit, "first N calibration identities only (0: all)");
    cmd->add_option("--json", *json, "also write the report to this file");
    cmd->callback([=, &globals, &exit_code] {
      eval::ProfileFnmrOptions o;
      o.data = data_root(*data, "celeba-dev");
      o.threads = globals.threads;
      o.ieds = *ieds;
      o.limit_identities = *limit;
      cv::setNumThreads(1);
      const vision::FaceEngine engine(globals.engine_options());
      const quality::Assessor assessor(quality::QualityConfig::load(*quality_config),
                                       quality::Assessor::load_models(engine.manifest()));
      {
        // The lane's own 1:few (vehicle gallery) threshold for one document (one probe against
        // one reference, as here), computed as the lane computes it.
        const capture::LaneProcessor lane(engine, assessor,
                                          capture::LaneConfig::load(*lane_config));
        const auto& cal = lane.calibration();
        o.threshold = lane.threshold(1);
        o.threshold_source =
            *lane_config + ": vehicle 1:few threshold for one document, " +
            (cal.few_target_fpir > 0 ? "FPIR " + std::to_string(cal.few_target_fpir)
                                     : "FMR " + std::to_string(cal.target_fmr)) +
            " (" + cal.source + ")";
      }
      o.assess = [&assessor](const cv::Mat& img, std::span<const core::Face> faces, std::size_t k,
                             bool cheap) {
        const auto report =
            assessor.assess(img, faces, k, cheap ? quality::Scope::kCheap : quality::Scope::kAll);
        eval::ProfilePhoto p;
        auto raw = [&report](const char* name) -> std::optional<double> {
          const auto* m = report.find(name);
          return m ? m->raw : std::nullopt;
        };
        p.yaw = raw("HeadPoseYaw");
        p.ied = raw("InterEyeDistance");
        if (!cheap) {
          const auto document = assessor.validate(report, "document");
          p.document = document.passed;
          p.document_failures = int(document.failures.size());
          p.unified = report.unified();
        }
        return p;
      };
      const auto r = eval::run_profile_fnmr(engine, o);
      for (const auto& b : r["yaw"]["bins"])
        std::fprintf(stderr, "profile-fnmr: |yaw| %3.0f-%3.0f: %5zu probes, FNMR %.2f %%\n",
                     b["abs_yaw_deg"][0].get<double>(), b["abs_yaw_deg"][1].get<double>(),
                     b["probes"].get<std::size_t>(), 100 * b["fnmr"].get<double>());
      for (const auto& t : r["ied"]["targets"])
        std::fprintf(stderr, "profile-fnmr: IED %2.0f px: %5zu probes, FNMR %.2f %%\n",
                     t["ied_px"].get<double>(), t["probes"].get<std::size_t>(),
                     100 * t["fnmr"].get<double>());
      if (!json->empty()) write_json_file(*json, r);
      std::cout << r.dump() << std::endl;
      exit_code = 0;
    });
  }

  auto* calibrate =
      app.add_subcommand("calibrate", "fit parameters on named data and write them to a file");
  calibrate->require_subcommand(1);
  {
    auto* cmd = calibrate->add_subcommand(
        "fusion",
        "score fusion on LFW view 2: per-model z-normalisation and the FAR 1e-3 threshold");
    auto data = std::make_shared<std::string>();
    auto parts = std::make_shared<std::vector<std::string>>(
        std::vector<std::string>{"fr_feature", "dlib_resnet"});
    auto out = std::make_shared<std::string>(vision::default_fusion_path().string());
    cmd->add_option("--data", *data,
                    "LFW folder with pairs.txt and lfw/ (default: $LANEFACE_DATA/lfw)");
    cmd->add_option("--parts", *parts, "recognizer ids to fuse")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--out", *out, "calibration file to write")->capture_default_str();
    cmd->callback([=, &globals, &exit_code] {
      if (parts->size() < 2)
        throw core::Error(core::ErrorKind::kInvalidInput,
                          "--parts: fusion needs two or more recognizers");
      eval::LfwOptions o;
      o.data = data_root(*data, "lfw");
      o.threads = globals.threads;
      cv::setNumThreads(1);
      auto eo = globals.engine_options();
      eo.recognizer = parts->front();  // the engine's own recognizer is not used here
      const vision::FaceEngine engine(eo);
      const auto params = eval::calibrate_fusion_lfw(engine, *parts, o);
      params.save(*out);
      nlohmann::json j{{"calibrate", "fusion"},
                       {"out", *out},
                       {"parts", params.parts},
                       {"threshold", params.threshold},
                       {"calibration", params.calibration}};
      for (std::size_t i = 0; i < params.parts.size(); ++i) {
        j["norm"][params.parts[i]] = {{"mean", params.norms[i].mean},
                                      {"stddev", params.norms[i].stddev}};
      }
      std::cout << j.dump() << std::endl;
      exit_code = 0;
    });
  }
  {
    auto* cmd = calibrate->add_subcommand(
        "threshold",
        "match thresholds from impostor scores measured on LFW (every pair of images of "
        "different people): 1:few at a target FMR, 1:N at a target FPIR; writes "
        "DIR/<model>.toml (for --recognizer fused also each part's file)");
    auto data = std::make_shared<std::string>();
    auto fmr = std::make_shared<double>(match::kDefaultTargetFmr);
    auto fpir = std::make_shared<double>(match::kDefaultTargetFpir);
    auto out = std::make_shared<std::string>(
        (std::filesystem::path(LANEFACE_SOURCE_ROOT) / "config" / "calibration").string());
    auto check_sizes =
        std::make_shared<std::vector<std::size_t>>(std::vector<std::size_t>{10, 100, 1000});
    auto json = std::make_shared<std::string>();
    cmd->add_option("--data", *data,
                    "LFW folder with pairs.txt and lfw/ (default: $LANEFACE_DATA/lfw); never the "
                    "set the lane is evaluated on")
        ->required();
    cmd->add_option("--target-fmr", *fmr, "1:few false match rate")
        ->check(CLI::Range(1e-9, 0.5))
        ->capture_default_str();
    cmd->add_option("--target-fpir", *fpir, "1:N false positive identification rate")
        ->check(CLI::Range(1e-9, 0.5))
        ->capture_default_str();
    cmd->add_option("--out-dir", *out, "directory the calibration files are written to")
        ->capture_default_str();
    cmd->add_option("--check-sizes", *check_sizes,
                    "gallery sizes at which the 1:N threshold is checked on the data directly "
                    "(max of N impostor scores per search)")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--json", *json, "also write the report to this file");
    cmd->callback([=, &globals, &exit_code] {
      eval::LfwOptions o;
      o.data = data_root(*data, "lfw");
      o.threads = globals.threads;
      cv::setNumThreads(1);
      const vision::FaceEngine engine(globals.engine_options());
      const auto imp = eval::lfw_impostor_scores(engine, o, *check_sizes);
      std::filesystem::create_directories(*out);
      nlohmann::json report{{"calibrate", "threshold"},
                            {"data", o.data.filename().string()},
                            {"images", imp.images},
                            {"identities", imp.identities},
                            {"failures_to_detect", imp.failures_to_detect},
                            {"embed_seconds", imp.embed_seconds},
                            {"target_fmr", *fmr},
                            {"target_fpir", *fpir},
                            {"models", nlohmann::json::array()}};
      for (std::size_t m = 0; m < imp.models.size(); ++m) {
        const std::string& model = imp.models[m];
        const std::string source =
            "LFW view-2 images at " + o.data.filename().string() + ": all " +
            std::to_string(imp.scores[m].size()) + " pairs of images of different people (" +
            std::to_string(imp.images) + " images, " + std::to_string(imp.identities) + " people" +
            (m > 0 ? ", templates of the fused run" : "") + ")";
        const auto c = match::fit_calibration(model, imp.scores[m], *fmr, source, *fpir);
        const auto file = match::calibration_file(*out, model);
        c.save(file);
        nlohmann::json j{{"model", model},
                         {"file", file.string()},
                         {"threshold", c.threshold},
                         {"impostor_count", c.impostor_count}};
        for (const auto& p : c.curve) j["curve"].push_back({p.fmr, p.threshold});
        for (const std::size_t n : {1, 10, 100, 1000, 10000, 100000}) {
          j["port_threshold"].push_back({{"gallery_size", n},
                                         {"threshold", c.port_threshold(n)},
                                         {"fmr", match::fmr_for_fpir(*fpir, n)},
                                         {"extrapolated", c.port_extrapolated(n)}});
        }
        // The 1:N threshold checked directly: the fraction of searches of N other people
        // whose best score passes it (the independence assumption behind it, tested).
        for (std::size_t k = 0; k < imp.max_of_n_sizes.size(); ++k) {
          const std::size_t n = imp.max_of_n_sizes[k];
          const double t = c.port_threshold(n);
          std::size_t above = 0;
          for (const double s : imp.max_of_n[m][k]) above += s > t;
          j["fpir_check"].push_back({{"gallery_size", n},
                                     {"threshold", t},
                                     {"searches", imp.max_of_n[m][k].size()},
                                     {"false_positives", above},
                                     {"fpir", double(above) / double(imp.max_of_n[m][k].size())}});
        }
        std::fprintf(stderr,
                     "calibrate threshold: %s: %.4f at FMR %g over %zu impostor pairs -> %s\n",
                     model.c_str(), c.threshold, *fmr, c.impostor_count, file.c_str());
        report["models"].push_back(j);
      }
      if (!json->empty()) write_json_file(*json, report);
      std::cout << report.dump() << std::endl;
      exit_code = 0;
    });
  }
}

}  // namespace laneface::app
