// eval: accuracy protocols on named data; each prints a summary and ends with one JSON line.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <span>

#include "commands.hpp"
#include "core/error.hpp"
#include "eval/identify.hpp"
#include "eval/lfw.hpp"
#include "quality/assessor.hpp"

namespace laneface::app {

std::filesystem::path data_root(const std::string& flag, const std::string& sub) {  // commands.hpp
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LANEFACE_DATA"); env && *env)
    return std::filesystem::path(env) / sub;
  throw core::Error(core::ErrorKind::kNotFound,
                    "no data folder: pass --data DIR or set LANEFACE_DATA");
}

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
    cmd->add_option("--data", *data,
                    "folder with labels.csv (image,identity) (default: $LANEFACE_DATA/celeba-dev)");
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
}

}  // namespace laneface::app
