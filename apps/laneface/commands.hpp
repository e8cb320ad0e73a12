#pragma once
// Subcommand registration for the one laneface binary. Each register_* adds its
// subcommands to the app; the callback runs the command and sets the exit code.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "vision/face_engine.hpp"

namespace laneface::app {

struct Globals {
  std::filesystem::path manifest;  // --models DIR sets DIR/manifest.toml
  int threads = 2;
  bool no_mirror = false;
  std::string recognizer = "fr_feature";  // --recognizer: manifest id, or "fused"
  std::filesystem::path fusion = vision::default_fusion_path();  // --fusion FILE

  vision::EngineOptions engine_options() const {
    vision::EngineOptions o;
    o.manifest = manifest;
    o.embed.mirror = !no_mirror;
    o.recognizer = recognizer;
    o.fusion = fusion;
    return o;
  }
};

// The dataset folder: the --data flag, else $LANEFACE_DATA/<sub>. Throws when neither is set.
std::filesystem::path data_root(const std::string& flag, const std::string& sub);

void register_face_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_eval_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_quality_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_store_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_match_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_ledger_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_sim_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_serve_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_lane_commands(CLI::App& app, Globals& globals, int& exit_code);

}  // namespace laneface::app
