// eval: accuracy protocols on named data; each prints a summary and ends with one JSON line.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <opencv2/core.hpp>

#include "commands.hpp"
#include "core/error.hpp"
#include "eval/lfw.hpp"

namespace laneface::app {

std::filesystem::path data_root(const std::string& flag, const std::string& sub) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LANEFACE_DATA"); env && *env) return std::filesystem::path(env) / sub;
  throw core::Error(core::ErrorKind::kNotFound, "no data folder: pass --data DIR or set LANEFACE_DATA");
}

void register_eval_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* eval = app.add_subcommand("eval", "accuracy protocols (end with one JSON line)");
  eval->require_subcommand(1);
  {
    auto* cmd = eval->add_subcommand("lfw", "LFW view 2: 10-fold accuracy, TAR at FAR 1e-2 and 1e-3");
    auto data = std::make_shared<std::string>();
    cmd->add_option("--data", *data, "LFW folder with pairs.txt and lfw/ (default: $LANEFACE_DATA/lfw)");
    cmd->callback([=, &globals, &exit_code] {
      eval::LfwOptions o;
      o.data = data_root(*data, "lfw");
      o.threads = globals.threads;
      vision::EngineOptions eo;
      eo.manifest = globals.manifest;
      eo.embed.mirror = !globals.no_mirror;
      cv::setNumThreads(1);  // parallel across images, one core per net
      const vision::FaceEngine engine(eo);
      const auto report = eval::run_lfw(engine, o);
      std::fprintf(stderr, "LFW view 2: accuracy %.2f %% (+-%.2f), TAR %.2f %% at FAR 1e-3, %.2f %% at 1e-2, %d failures to detect\n",
                   100 * report["accuracy"].get<double>(), 100 * report["accuracy_std"].get<double>(),
                   100 * report["tar_at_far"]["far_1e-3"]["tar"].get<double>(),
                   100 * report["tar_at_far"]["far_1e-2"]["tar"].get<double>(),
                   report["failures_to_detect"].get<int>());
      std::cout << report.dump() << std::endl;
      exit_code = 0;
    });
  }
}

}  // namespace laneface::app
