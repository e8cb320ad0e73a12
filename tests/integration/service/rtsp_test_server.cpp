#include "rtsp_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace laneface::testing {

namespace {

// The parts of a baseline JPEG that RTP/JPEG carries: type (0: 4:2:2, 1: 4:2:0), the two
// quantisation tables (zig-zag order, as in DQT) and the entropy-coded scan.
struct JpegParts {
  int type = 1;
  std::vector<unsigned char> tables;  // 128 bytes
  std::vector<unsigned char> scan;
};

JpegParts split_jpeg(const std::vector<unsigned char>& j) {
  JpegParts out;
  std::vector<unsigned char> q[4];
  std::size_t i = 2;
  while (i + 4 <= j.size()) {
    if (j[i] != 0xFF) throw std::runtime_error("jpeg: marker expected");
    const int marker = j[i + 1];
    const std::size_t len = (std::size_t(j[i + 2]) << 8) | j[i + 3];
    const std::size_t body = i + 4;
    if (marker == 0xDB) {
      for (std::size_t k = body; k < i + 2 + len; k += 65) {
        if (j[k] >> 4) throw std::runtime_error("jpeg: 16-bit tables");
        q[j[k] & 3].assign(j.begin() + long(k) + 1, j.begin() + long(k) + 65);
      }
    } else if (marker == 0xC0) {
      const int luma = j[body + 6 + 1];  // first component's sampling factors
      out.type = luma == 0x22 ? 1 : 0;
    } else if (marker == 0xDD) {
      throw std::runtime_error("jpeg: restart markers not supported");
    } else if (marker == 0xDA) {
      out.scan.assign(j.begin() + long(i + 2 + len), j.end() - 2);  // up to EOI
      break;
    }
    i += 2 + len;
  }
  out.tables = q[0];
  out.tables.insert(out.tables.end(), q[1].begin(), q[1].end());
  if (out.tables.size() != 128 || out.scan.empty()) throw std::runtime_error("jpeg: not baseline");
  return out;
}

bool send_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const auto k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= std::size_t(k);
  }
  return true;
}

std::string header(const std::string& request, const std::string& name) {
  const auto at = request.find("\r\n" + name + ":");
  if (at == std::string::npos) return {};
  auto start = at + name.size() + 3;
  while (start < request.size() && request[start] == ' ') ++start;
  return request.substr(start, request.find("\r\n", start) - start);
}

}  // namespace

int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

RtspTestServer::RtspTestServer(Mode mode, int width, int height, double fps)
    : mode_(mode), width_(width), height_(height), fps_(fps) {
  for (int f = 0; f < 25; ++f) {
    cv::Mat img(height_, width_, CV_8UC3, cv::Scalar(40, 90, 140));
    cv::rectangle(img, cv::Rect(f * (width_ - 40) / 25, height_ / 3, 40, 40),
                  cv::Scalar(250, 250, 250), cv::FILLED);
    std::vector<unsigned char> jpeg;
    cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
    jpegs_.push_back(std::move(jpeg));
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 4) != 0)
    throw std::runtime_error("rtsp test server: cannot listen");
  socklen_t n = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &n);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

RtspTestServer::~RtspTestServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

void RtspTestServer::serve() {
  std::vector<int> silent;
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++sessions_;
    if (mode_ == Mode::kSilent) {
      silent.push_back(fd);  // never answered; closed at the end
      continue;
    }
    connected_ = true;
    session(fd);
    connected_ = false;
    ::close(fd);
  }
  for (const int fd : silent) ::close(fd);
}

void RtspTestServer::session(int fd) {
  std::string in;
  bool playing = false;
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  int frame = 0;
  const std::uint32_t ssrc = 0x1a2b3c4d;
  const auto period = std::chrono::duration<double>(1.0 / fps_);
  auto next = std::chrono::steady_clock::now();
  const std::string base = url() + "/";
  while (!stop_) {
    int wait_ms = 100;
    if (playing) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            next - std::chrono::steady_clock::now())
                            .count();
      wait_ms = int(std::max<long>(0, left));
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r > 0) {
      char buf[4096];
      const auto k = ::recv(fd, buf, sizeof buf, 0);
      if (k <= 0) return;  // the client closed the connection
      in.append(buf, std::size_t(k));
    }
    // Requests, and interleaved RTCP from the client ('$' channel len payload: skipped).
    for (;;) {
      if (!in.empty() && in[0] == '$') {
        if (in.size() < 4) break;
        const std::size_t len = (std::size_t(std::uint8_t(in[2])) << 8) | std::uint8_t(in[3]);
        if (in.size() < 4 + len) break;
        in.erase(0, 4 + len);
        continue;
      }
      const auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) break;
      std::string req = in.substr(0, end + 2);
      std::size_t body = 0;
      if (const auto cl = header(req, "Content-Length"); !cl.empty()) body = std::stoul(cl);
      if (in.size() < end + 4 + body) break;
      in.erase(0, end + 4 + body);
      const std::string method = req.substr(0, req.find(' '));
      const std::string cseq = header(req, "CSeq");
      std::string reply = "RTSP/1.0 200 OK\r\nCSeq: " + cseq + "\r\n";
      std::string content;
      bool teardown = false;
      if (method == "OPTIONS") {
        reply += "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n";
      } else if (method == "DESCRIBE") {
        content =
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=laneface test\r\nc=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:track0\r\n";
        reply += "Content-Base: " + base + "\r\nContent-Type: application/sdp\r\n";
      } else if (method == "SETUP") {
        if (header(req, "Transport").find("TCP") == std::string::npos) {
          reply = "RTSP/1.0 461 Unsupported Transport\r\nCSeq: " + cseq + "\r\n";
        } else {
          reply += "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 4242;timeout=60\r\n";
        }
      } else if (method == "PLAY") {
        reply += "Session: 4242\r\nRange: npt=0.000-\r\n";
        playing = true;
        next = std::chrono::steady_clock::now();
      } else if (method == "TEARDOWN") {
        reply += "Session: 4242\r\n";
        teardown = true;
      } else if (method != "GET_PARAMETER" && method != "SET_PARAMETER") {
        reply = "RTSP/1.0 405 Method Not Allowed\r\nCSeq: " + cseq + "\r\n";
      }
      reply += "Content-Length: " + std::to_string(content.size()) + "\r\n\r\n" + content;
      if (!send_all(fd, reply.data(), reply.size()) || teardown) return;
    }
    if (!playing || std::chrono::steady_clock::now() < next) continue;
    // One frame: RTP/JPEG fragments, each in an interleaved '$' 0 frame.
    const JpegParts jp = split_jpeg(jpegs_[std::size_t(frame) % jpegs_.size()]);
    std::size_t off = 0;
    while (off < jp.scan.size()) {
      const std::size_t n = std::min<std::size_t>(1200, jp.scan.size() - off);
      const bool last = off + n == jp.scan.size();
      std::vector<unsigned char> pkt{0x80, static_cast<unsigned char>((last ? 0x80 : 0) | 26)};
      for (const int s : {8, 0}) pkt.push_back(static_cast<unsigned char>(seq >> s));
      for (const int s : {24, 16, 8, 0}) pkt.push_back(static_cast<unsigned char>(ts >> s));
      for (const int s : {24, 16, 8, 0}) pkt.push_back(static_cast<unsigned char>(ssrc >> s));
      pkt.push_back(0);
      for (const int s : {16, 8, 0}) pkt.push_back(static_cast<unsigned char>(off >> s));
      pkt.push_back(static_cast<unsigned char>(jp.type));
      pkt.push_back(255);
      pkt.push_back(static_cast<unsigned char>(width_ / 8));
      pkt.push_back(static_cast<unsigned char>(height_ / 8));
      if (off == 0) {
        pkt.insert(pkt.end(), {0, 0, 0, 128});
        pkt.insert(pkt.end(), jp.tables.begin(), jp.tables.end());
      }
      pkt.insert(pkt.end(), jp.scan.begin() + long(off), jp.scan.begin() + long(off + n));
      const unsigned char head[4] = {'$', 0, static_cast<unsigned char>(pkt.size() >> 8),
                                     static_cast<unsigned char>(pkt.size() & 0xff)};
      if (!send_all(fd, head, 4) || !send_all(fd, pkt.data(), pkt.size())) return;
      ++seq;
      off += n;
    }
    ++frame;
    ++frames_sent_;
    ts += static_cast<std::uint32_t>(90000 / fps_);
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
  }
}

}  // namespace laneface::testing
