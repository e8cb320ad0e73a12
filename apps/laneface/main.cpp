// laneface: one binary, one subcommand per job. Errors print "laneface: <what>: <problem>"
// on stderr and exit non-zero; results go to stdout (eval and bench end with one JSON line).
#include <cstdio>
#include <exception>
#include <opencv2/core/utils/logger.hpp>

#include "commands.hpp"
#include "core/error.hpp"
#include "vision/manifest.hpp"

int main(int argc, char** argv) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  CLI::App app{"laneface: every occupant of every vehicle, photographed, checked and matched"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "laneface 0.1.0");
  laneface::app::Globals globals;
  globals.manifest = laneface::vision::default_manifest_path();
  app.add_option_function<std::string>(
         "--models",
         [&](const std::string& dir) {
           globals.manifest = std::filesystem::path(dir) / "manifest.toml";
         },
         "folder holding manifest.toml and the model files (default: $LANEFACE_MODELS, else "
         "models/)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--threads", globals.threads, "worker threads for batch work")
      ->check(CLI::Range(1, 64));
  app.add_flag("--no-mirror", globals.no_mirror, "do not average templates with the mirrored face");
  app.add_option("--recognizer", globals.recognizer,
                 "recognizer: a manifest id (fr_feature, dlib_resnet) or fused")
      ->capture_default_str();
  app.add_option("--fusion", globals.fusion, "fusion calibration file for --recognizer fused")
      ->capture_default_str();
  int exit_code = 0;
  laneface::app::register_face_commands(app, globals, exit_code);
  laneface::app::register_eval_commands(app, globals, exit_code);
  laneface::app::register_quality_commands(app, globals, exit_code);
  laneface::app::register_store_commands(app, globals, exit_code);
  laneface::app::register_match_commands(app, globals, exit_code);
  laneface::app::register_lane_commands(app, globals, exit_code);
  laneface::app::register_ledger_commands(app, globals, exit_code);
  laneface::app::register_sim_commands(app, globals, exit_code);
  laneface::app::register_serve_commands(app, globals, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const laneface::core::Error& e) {
    std::fprintf(stderr, "laneface: %s\n", e.what());
    return e.kind() == laneface::core::ErrorKind::kInvalidInput ? 65 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "laneface: unexpected error: %s\n", e.what());
    return 70;
  }
  return exit_code;
}
