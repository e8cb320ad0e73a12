#pragma once
// `laneface serve`: the HTTP/JSON API under /api/, server-sent events, Prometheus metrics and
// the officer console (web/). cpp-httplib (Debian libcpp-httplib-dev) with one thread per
// connection from a fixed pool; TLS (httplib's OpenSSL server) when a certificate is given.
//
// Every /api/ route except /api/openapi.json and /api/login needs a session token
// (Authorization: Bearer TOKEN, or the HttpOnly session cookie the console uses); each route
// names the roles that may call it. The route table is the one source of both the routing
// and the OpenAPI description.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/image_io.hpp"
#include "service/auth.hpp"
#include "service/events.hpp"
#include "service/lanes.hpp"
#include "service/metrics.hpp"

namespace laneface::service {

struct ServiceConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: any free port (start() returns it)
  std::filesystem::path web_root;    // console assets; empty: no console
  std::filesystem::path upload_dir;  // submitted camera files (removed after processing)
  std::optional<std::filesystem::path> tls_cert, tls_key;
  std::size_t max_body_bytes = 64u << 20;  // uploads (multipart)
  std::size_t max_json_bytes = 16u << 20;  // JSON bodies (base64 images included)
  core::ImageLimits image_limits{16u << 20, 40'000'000, 10'000};
  std::chrono::seconds read_timeout{10}, write_timeout{10}, keep_alive{5};
  int threads = 192;  // connections served at once (each SSE client holds one)
  std::chrono::seconds sse_keepalive{15};
  AuthConfig auth;
};

// Face operations behind the API; unset members answer 503 (no models loaded).
struct Biometrics {
  // Enrols a document with its portrait; returns the enrolled document as JSON.
  std::function<nlohmann::json(const store::Document&, std::span<const unsigned char> portrait,
                               const std::string& actor)>
      enrol;
  // 1:1: {"score", "threshold", "decision"}.
  std::function<nlohmann::json(std::span<const unsigned char> a, std::span<const unsigned char> b)>
      verify;
  // 1:N: {"candidates": [...]} against the port gallery.
  std::function<nlohmann::json(std::span<const unsigned char> probe, int k)> search;
};

struct RouteInfo {
  std::string method;   // GET, POST
  std::string path;     // OpenAPI template, e.g. /api/crossings/{id}
  std::string pattern;  // the regex httplib matches
  Roles roles;          // empty: public
  std::string summary;
  std::string tag;
};

class Service {
 public:
  Service(ServiceConfig config, store::Store& store, std::shared_ptr<const store::Clock> clock,
          Processor processor, Biometrics biometrics = {});
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds and serves on a background thread; returns the port. Throws core::Error(kConfig)
  // when the port cannot be bound or the TLS files do not load.
  int start();
  void stop();
  bool tls() const;

  // Creates user "admin" with a random password when the store has no users; returns the
  // password (to print once), or nullopt when users exist.
  std::optional<std::string> ensure_admin();

  std::vector<RouteInfo> routes() const;
  nlohmann::json openapi() const;

  LaneManager& lanes();
  EventHub& events();
  Auth& auth();
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace laneface::service
