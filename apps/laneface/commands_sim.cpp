// sim: the lane simulator (docs/sim.md). Writes a lane directory (docs/lane-format.md);
// progress on stderr, one JSON summary line on stdout.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "sim/face_library.hpp"
#include "sim/simulator.hpp"

namespace laneface::app {

void register_sim_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "sim", "simulate a vehicle lane from face photos: videos, documents and ground truth");
  auto o = std::make_shared<sim::SimOptions>();
  auto faces = std::make_shared<std::string>(), labels = std::make_shared<std::string>(),
       out = std::make_shared<std::string>();
  cmd->add_option("--faces", *faces, "folder of face photos")->required();
  cmd->add_option("--labels", *labels,
                  "CSV image,identity[,face] (paths relative to --faces; face: k-th face from "
                  "the left in a group photo)")
      ->required();
  cmd->add_option("--out", *out, "lane directory to write (new or empty)")->required();
  cmd->add_option("--vehicles", o->vehicles, "vehicle passes")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--preset", o->preset, "easy | realistic | hard")
      ->capture_default_str()
      ->check(CLI::IsMember({"easy", "realistic", "hard"}));
  cmd->add_option("--seed", o->seed, "random seed (same seed, same lane)")->capture_default_str();
  cmd->add_option("--cameras", o->cameras,
                  "cameras 1..4 (windshield, driver_side, passenger_side, rear_side)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4));
  cmd->add_option("--width", o->width, "frame width")
      ->capture_default_str()
      ->check(CLI::Range(160, 3840));
  cmd->add_option("--height", o->height, "frame height")
      ->capture_default_str()
      ->check(CLI::Range(120, 2160));
  cmd->add_option("--fps", o->fps, "frames per second")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 60.0));
  cmd->add_option("--min-frames", o->min_frames, "shortest vehicle pass, frames")
      ->capture_default_str();
  cmd->add_option("--max-frames", o->max_frames, "longest vehicle pass, frames")
      ->capture_default_str();
  cmd->add_option("--ghosts", o->ghost_probability,
                  "share of vehicles with a poster, a phone screen or a bystander (default: the "
                  "preset's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--single-photo", o->single_photo,
                "allow identities with one photo (the document portrait is then the same photo)");
  cmd->add_option("--lane", o->lane, "lane id")->capture_default_str();
  cmd->add_option("--port", o->port, "port code")->capture_default_str();
  cmd->add_option("--direction", o->direction, "entry | exit")
      ->capture_default_str()
      ->check(CLI::IsMember({"entry", "exit"}));
  cmd->add_option("--start-time", o->start_time, "lane clock zero, UTC YYYY-MM-DDTHH:MM:SSZ")
      ->capture_default_str();
  auto snapshots = std::make_shared<std::string>();
  cmd->add_option("--snapshots", *snapshots,
                  "also write JPEG snapshots (1/3 and 2/3 of the pass, every camera) of the first "
                  "vehicles to this folder");
  cmd->add_option("--snapshot-vehicles", o->snapshot_vehicles, "vehicles with snapshots")
      ->capture_default_str();
  cmd->add_flag("--snapshot-boxes", o->snapshot_boxes, "draw the truth boxes on the snapshots");
  cmd->callback([o, faces, labels, out, snapshots, &globals, &exit_code] {
    o->faces = *faces;
    o->labels = *labels;
    o->out = *out;
    o->faces_arg = *faces;
    o->labels_arg = *labels;
    o->threads = globals.threads;
    o->snapshots = *snapshots;
    const sim::FaceLibrary library(o->faces, o->labels, o->single_photo ? 1 : 2);
    std::fprintf(stderr,
                 "sim: %zu photos of %zu identities (%zu label rows and %zu identities skipped)\n",
                 library.photos().size(), library.identities().size(), library.skipped_rows(),
                 library.skipped_identities());
    const vision::FaceEngine engine(globals.engine_options());
    const sim::Simulator simulator(*o, library, sim::engine_faces(library, engine));
    std::fprintf(stderr, "sim: planned %zu vehicles, %zu documents; rendering\n",
                 simulator.vehicles().size(), simulator.documents().size());
    const auto summary = simulator.write([](std::size_t done, std::size_t total) {
      if (done % 10 == 0 || done == total)
        std::fprintf(stderr, "sim: %zu/%zu vehicles\n", done, total);
    });
    std::cout << summary.dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace laneface::app
