#pragma once
// Subcommand registration for the one laneface binary. Each register_* adds its
// subcommands to the app; the callback runs the command and sets the exit code.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

namespace laneface::app {

struct Globals {
  std::filesystem::path manifest;  // --models DIR sets DIR/manifest.toml
  int threads = 2;
  bool no_mirror = false;
};

void register_face_commands(CLI::App& app, Globals& globals, int& exit_code);
void register_eval_commands(CLI::App& app, Globals& globals, int& exit_code);

}  // namespace laneface::app
