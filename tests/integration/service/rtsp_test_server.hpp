#pragma once
// A small RTSP server for tests, on 127.0.0.1 (any free port), with no network and no extra
// packages: it answers OPTIONS, DESCRIBE, SETUP (RTP over the RTSP TCP connection only; UDP
// gets 461 so the client falls back to TCP), PLAY, GET_PARAMETER and TEARDOWN, and streams
// synthetic frames as RTP/JPEG (RFC 2435, quantisation tables in band) at `fps`. One client
// at a time. kSilent accepts connections and never answers (a camera that hangs).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace laneface::testing {

class RtspTestServer {
 public:
  enum class Mode { kStream, kSilent };
  explicit RtspTestServer(Mode mode = Mode::kStream, int width = 320, int height = 240,
                          double fps = 25);
  ~RtspTestServer();
  RtspTestServer(const RtspTestServer&) = delete;
  RtspTestServer& operator=(const RtspTestServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "rtsp://127.0.0.1:" + std::to_string(port_) + "/live"; }
  int sessions() const { return sessions_; }     // connections accepted
  bool connected() const { return connected_; }  // a client is connected now
  int frames_sent() const { return frames_sent_; }

 private:
  void serve();
  void session(int fd);

  Mode mode_;
  int width_, height_;
  double fps_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int> sessions_{0};
  std::atomic<int> frames_sent_{0};
  std::vector<std::vector<unsigned char>> jpegs_;
  std::thread thread_;
};

// A loopback port with nothing listening on it (connections are refused).
int closed_port();

}  // namespace laneface::testing
