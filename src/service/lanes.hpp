#pragma once
// Lanes of the service: lane directories (docs/lane-format.md) that can be replayed, a
// bounded queue of vehicle passes (replayed or submitted through the API) and the worker that
// runs the lane pipeline on each, publishing live events and keeping the latest results.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "capture/lane_processor.hpp"
#include "service/events.hpp"
#include "service/metrics.hpp"
#include "service/stream_lane.hpp"
#include "store/store.hpp"

namespace laneface::service {

// The lane pipeline as the service calls it: one pass in, the per-vehicle JSON of
// docs/lane-format.md out (with "crossing_id" and, per occupant, "occupant_id" and
// "photo_id" when it recorded them in the store). capture::LaneProcessor::process fits.
using Processor =
    std::function<nlohmann::json(const capture::VehiclePass&, const capture::Observer&)>;

struct LaneVehicle {
  std::string id;
  double start_s = 0;
  std::int64_t frames = 0;
};

struct LaneInfo {
  std::string id, port, direction;
  std::filesystem::path dir;  // empty for lanes known only from submitted passes
  double fps = 0;
  int width = 0, height = 0;
  std::vector<std::pair<std::string, std::string>> cameras;  // id, file (stream lanes: URL)
  std::vector<LaneVehicle> vehicles;
  bool stream = false;  // cameras are live stream URLs (service/stream_lane.hpp)
  double segment_s = 10;
};

// Reads LANE_DIR/lane.json. Throws core::Error(kNotFound / kInvalidInput) naming the file.
// Cameras with "url" instead of "file" make a stream lane (all cameras must then be URLs).
LaneInfo read_lane_dir(const std::filesystem::path& dir);
// The pass of one vehicle: vehicles/<id>/event.json and its camera files.
capture::VehiclePass read_vehicle_pass(const LaneInfo& lane, const LaneVehicle& vehicle);

struct LaneOptions {
  std::size_t max_queue = 256;
  std::size_t recent = 50;      // results kept per lane for the console
  bool restamp = true;          // replayed passes get the current time (a live-looking lane)
  std::filesystem::path spool;  // stream lanes' segment files (default: the temp folder)
};

class LaneManager {
 public:
  LaneManager(Processor processor, store::Store& store, EventHub& events, Metrics& metrics,
              std::shared_ptr<const store::Clock> clock, LaneOptions options = {});
  ~LaneManager();
  LaneManager(const LaneManager&) = delete;
  LaneManager& operator=(const LaneManager&) = delete;

  // Registers a lane directory; returns its id. Throws like read_lane_dir, and
  // Error(kInvalidInput) for a lane id already registered from another directory.
  std::string add_lane_dir(const std::filesystem::path& dir);
  // Registers (or, when stopped, replaces) a stream lane: info.stream with camera URLs.
  // Throws Error(kInvalidInput) naming the camera for a bad URL or an id taken by a lane
  // directory, and Error(kConfig) when that stream lane is running.
  void add_stream_lane(LaneInfo info);
  bool has_lane(const std::string& id) const;
  bool is_stream(const std::string& id) const;

  nlohmann::json lanes() const;
  nlohmann::json cameras(const std::string& id) const;  // null json when unknown
  nlohmann::json recent(const std::string& id) const;   // newest first

  // Replays the lane's vehicles at `speed` x real time (looping when asked). False when the
  // lane has no directory. Starting a running lane restarts it. A stream lane instead connects
  // to its cameras (bounded by `stream`'s timeouts; throws core::Error(kIo) naming the camera
  // when one cannot be reached) and records segments until stopped.
  bool start(const std::string& id, double speed, bool loop, StreamOptions stream = {});
  // Stops the replay or recording and waits for it (stream connections closed). Passes
  // already queued are still processed.
  bool stop(const std::string& id);

  // Queues a pass; returns its queue position, or -1 when the queue is full. `cleanup` is a
  // folder removed after processing (uploaded files).
  std::int64_t submit(capture::VehiclePass pass, std::int64_t frames = 0,
                      std::filesystem::path cleanup = {});
  std::int64_t queue_depth() const;
  // Waits until the queue is empty and nothing is processing (tests, --ci replays).
  bool wait_idle(std::chrono::milliseconds timeout);
  std::int64_t processed() const { return processed_; }
  void shutdown();

 private:
  struct Job {
    capture::VehiclePass pass;
    std::int64_t frames = 0;
    std::filesystem::path cleanup;
  };
  struct Lane {
    LaneInfo info;
    std::deque<nlohmann::json> recent;
    std::int64_t processed = 0;
    std::shared_ptr<std::atomic<bool>> stop_flag;
    std::thread replay;
    double speed = 1;
    bool loop = false;
    // Stream lanes: "stopped", "connecting", "running", "error"; the last error; segments
    // recorded and dropped (queue full); frames read per camera.
    std::string state = "stopped", error;
    std::int64_t segments = 0, dropped = 0, frames = 0;
  };
  void work();
  void run(Job job);
  void replay(std::string id, LaneInfo info, double speed, bool loop,
              std::shared_ptr<std::atomic<bool>> stop);
  void record(std::string id, LaneInfo info, std::shared_ptr<StreamRecorder> recorder,
              std::shared_ptr<std::atomic<bool>> stop);
  bool sleep_or_stop(const std::atomic<bool>& stop, std::chrono::milliseconds d);

  Processor processor_;
  store::Store& store_;
  EventHub& events_;
  Metrics& metrics_;
  std::shared_ptr<const store::Clock> clock_;
  LaneOptions options_;
  mutable std::mutex mutex_;
  std::mutex control_;  // serialises start/stop (a stream lane connects outside mutex_)
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Job> queue_;
  bool busy_ = false;
  bool shutdown_ = false;
  std::map<std::string, Lane> lanes_;
  std::atomic<std::int64_t> processed_{0};
  std::thread worker_;
};

}  // namespace laneface::service
