// serve: the lane API, live events and the officer console (src/service, web/).
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <opencv2/core.hpp>
#include <thread>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/toml_file.hpp"
#include "service/face_stack.hpp"
#include "service/server.hpp"
#include "service/stand_in_processor.hpp"

namespace laneface::app {

namespace {

using core::Error;
using core::ErrorKind;
using Json = nlohmann::json;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

struct ServeFlags {
  std::string config, host = "127.0.0.1", data_dir = "var/serve", db, key_file, web,
                      processor = "auto", replay, admin_password_file, tls_cert, tls_key;
  int port = 8080;
  int threads = 192;
  double speed = 1.0;
  double session_hours = 8;
  bool loop = false, exit_after_replay = false;
  std::vector<std::string> lanes;
};

// [serve] keys of the config file; command-line flags given explicitly win.
void apply_config(ServeFlags& f, CLI::App& cmd) {
  if (f.config.empty()) return;
  const auto t = core::read_toml_file(f.config, "serve config");
  const auto* s = t["serve"].as_table();
  if (!s) throw Error(ErrorKind::kConfig, f.config + ": no [serve] table");
  auto str = [&](const char* key, std::string& out, const char* flag) {
    if (cmd.count(flag) == 0)
      if (auto v = (*s)[key].value<std::string>()) out = *v;
  };
  str("host", f.host, "--host");
  str("data_dir", f.data_dir, "--data-dir");
  str("db", f.db, "--db");
  str("key_file", f.key_file, "--key-file");
  str("web", f.web, "--web");
  str("processor", f.processor, "--processor");
  str("tls_cert", f.tls_cert, "--tls-cert");
  str("tls_key", f.tls_key, "--tls-key");
  if (cmd.count("--port") == 0)
    if (auto v = (*s)["port"].value<int>()) f.port = *v;
  if (auto v = (*s)["threads"].value<int>()) f.threads = *v;
  if (auto v = (*s)["session_hours"].value<double>()) f.session_hours = *v;
  if (const auto* lanes = (*s)["lanes"].as_array()) {
    for (const auto& l : *lanes)
      if (auto v = l.value<std::string>()) f.lanes.push_back(*v);
  }
}

store::Key data_dir_key(const std::filesystem::path& dir) {
  const auto path = dir / "key";
  if (std::filesystem::exists(path)) return store::load_key_file(path);
  const auto key = store::Key::generate();
  std::string hex;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < store::Key::kSize; ++i) {
    hex += kHex[key.data()[i] >> 4];
    hex += kHex[key.data()[i] & 15];
  }
  {
    std::ofstream out(path);
    out << hex << "\n";
    if (!out) throw Error(ErrorKind::kIo, path.string() + ": cannot write the key file");
  }
  ::chmod(path.c_str(), 0600);
  std::fprintf(stderr, "laneface serve: created a new encryption key in %s (keep it safe)\n",
               path.c_str());
  return store::load_key_file(path);
}

}  // namespace

void register_serve_commands(CLI::App& app, Globals& globals, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "serve",
      "the lane API (/api/...), live events and the officer console on http://HOST:PORT; "
      "prints the first admin password once");
  auto f = std::make_shared<ServeFlags>();
  cmd->add_option("--config", f->config, "TOML file with a [serve] table (flags win)");
  cmd->add_option("--host", f->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", f->port, "port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--data-dir", f->data_dir,
                  "folder for the database (laneface.db), the key and uploads")
      ->capture_default_str();
  cmd->add_option("--db", f->db, "database file (default DATA_DIR/laneface.db)");
  cmd->add_option("--key-file", f->key_file,
                  "encryption key (default $LANEFACE_KEY, else DATA_DIR/key, created)");
  cmd->add_option("--web", f->web, "console folder (default: the source tree's web/)");
  cmd->add_option("--lane", f->lanes, "a lane directory to serve (repeatable)");
  cmd->add_option("--processor", f->processor,
                  "lane pipeline: lane (models), stand-in (trusts the documents read; no "
                  "biometrics, for tests), auto (lane when the models load)")
      ->check(CLI::IsMember({"auto", "lane", "stand-in"}))
      ->capture_default_str();
  cmd->add_option("--replay", f->replay, "start replaying this lane id at once");
  cmd->add_option("--speed", f->speed, "replay speed (x real time)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1000.0));
  cmd->add_flag("--loop", f->loop, "replay in a loop");
  cmd->add_flag("--exit-after-replay", f->exit_after_replay,
                "exit when the replay is done and processed (CI); prints a JSON summary");
  cmd->add_option("--admin-password-file", f->admin_password_file,
                  "also write the first admin password to this file (mode 0600)");
  cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate: serve HTTPS");
  cmd->add_option("--tls-key", f->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--threads", f->threads, "connections served at once")
      ->capture_default_str()
      ->check(CLI::Range(8, 4096));
  cmd->add_option("--session-hours", f->session_hours, "session lifetime")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 168.0));
  cmd->callback([f, cmd, &globals, &exit_code] {
    apply_config(*f, *cmd);
    const std::filesystem::path data = f->data_dir;
    std::filesystem::create_directories(data / "uploads");
    store::StoreConfig sc;
    sc.path = f->db.empty() ? data / "laneface.db" : std::filesystem::path(f->db);
    sc.key = !f->key_file.empty() ? std::optional(store::load_key_file(f->key_file))
                                  : store::key_from_env();
    if (!sc.key) sc.key = data_dir_key(data);
    const auto store = store::open_store(sc);

    std::unique_ptr<service::FaceStack> faces;
    if (f->processor != "stand-in") {
      try {
        cv::setNumThreads(1);
        faces = std::make_unique<service::FaceStack>(globals.engine_options(), *store);
      } catch (const Error& e) {
        if (f->processor == "lane") throw;
        std::fprintf(stderr,
                     "laneface serve: the lane pipeline did not load (%s); using the stand-in "
                     "processor, which trusts the documents read and does no biometrics\n",
                     e.what());
      }
    }
    // Enrolments through the API join the lane's galleries at once (service/face_stack.hpp).
    service::Processor processor =
        faces ? faces->processor() : service::make_stand_in_processor(*store);

    service::ServiceConfig config;
    config.host = f->host;
    config.port = f->port;
    config.threads = f->threads;
    config.upload_dir = data / "uploads";
    config.web_root = f->web.empty() ? std::filesystem::path(LANEFACE_SOURCE_ROOT) / "web"
                                     : std::filesystem::path(f->web);
    if (!f->tls_cert.empty()) config.tls_cert = f->tls_cert;
    if (!f->tls_key.empty()) config.tls_key = f->tls_key;
    config.auth.session_ttl =
        std::chrono::milliseconds(static_cast<std::int64_t>(f->session_hours * 3600e3));
    service::Biometrics biometrics;
    if (faces) {
      biometrics = faces->biometrics();
    } else {
      // Without models a document is enrolled without its portrait template (the stand-in
      // processor matches on the document read, not on faces); verify and search answer 503.
      biometrics.enrol = [&store](const store::Document& d, std::span<const unsigned char>,
                                  const std::string& actor) {
        const auto doc = store->enrol(d, std::nullopt, actor);
        return Json{{"document_id", doc.id},
                    {"subject_id", doc.subject_id},
                    {"number", doc.number},
                    {"note", "no face engine: enrolled without a portrait template"}};
      };
    }
    service::Service svc(config, *store, std::make_shared<store::SystemClock>(), processor,
                         biometrics);
    for (const auto& lane : f->lanes) svc.lanes().add_lane_dir(lane);
    if (const auto password = svc.ensure_admin()) {
      std::fprintf(stderr,
                   "laneface serve: created user 'admin' with password: %s\n"
                   "  (shown once; add officers with POST /api/users)\n",
                   password->c_str());
      if (!f->admin_password_file.empty()) {
        std::ofstream(f->admin_password_file) << *password << "\n";
        ::chmod(f->admin_password_file.c_str(), 0600);
      }
    }
    const int port = svc.start();
    std::fprintf(stderr, "laneface serve: console on %s://%s:%d/ (processor: %s)\n",
                 svc.tls() ? "https" : "http", f->host.c_str(), port, faces ? "lane" : "stand-in");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const auto t0 = std::chrono::steady_clock::now();
    if (!f->replay.empty()) {
      if (!svc.lanes().start(f->replay, f->speed, f->loop))
        throw Error(ErrorKind::kInvalidInput,
                    "--replay " + f->replay + ": no such lane directory (give it with --lane)");
    }
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (f->exit_after_replay && !f->replay.empty()) {
        const auto lanes = svc.lanes().lanes();
        bool running = false;
        for (const auto& l : lanes) running = running || l.value("running", false);
        if (!running && svc.lanes().wait_idle(std::chrono::milliseconds(100))) break;
      }
    }
    svc.stop();
    std::cout
        << Json{{"processed", svc.lanes().processed()},
                {"seconds",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
                {"processor", faces ? "lane" : "stand-in"}}
               .dump()
        << std::endl;
    exit_code = 0;
  });
}

}  // namespace laneface::app
