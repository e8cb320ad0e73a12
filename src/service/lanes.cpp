#include "service/lanes.hpp"

#include <chrono>
#include <fstream>

#include "core/error.hpp"
#include "store/clock.hpp"

namespace laneface::service {

using core::Error;
using core::ErrorKind;
using Json = nlohmann::json;

namespace {

Json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::kNotFound, path.string() + ": cannot open");
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::kInvalidInput, path.string() + ": not a JSON object");
  return j;
}

}  // namespace

LaneInfo read_lane_dir(const std::filesystem::path& dir) {
  const auto file = dir / "lane.json";
  const Json j = read_json_file(file);
  try {
    if (j.value("format", "") != "laneface-lane/1")
      throw Error(ErrorKind::kInvalidInput, file.string() + ": format is not laneface-lane/1");
    LaneInfo lane;
    lane.dir = dir;
    lane.id = j.at("lane").get<std::string>();
    lane.port = j.value("port", "DEMO");
    lane.direction = j.value("direction", "entry");
    lane.fps = j.value("fps", 0.0);
    lane.width = j.value("width", 0);
    lane.height = j.value("height", 0);
    std::size_t urls = 0;
    for (const auto& c : j.at("cameras")) {
      const auto id = c.at("id").get<std::string>();
      if (c.contains("url")) {
        const auto url = c.at("url").get<std::string>();
        try {
          check_stream_url(id, url);
        } catch (const Error& e) {
          throw Error(ErrorKind::kInvalidInput, file.string() + ": " + e.what());
        }
        lane.cameras.emplace_back(id, url);
        ++urls;
      } else {
        lane.cameras.emplace_back(id, c.at("file").get<std::string>());
      }
    }
    if (urls > 0 && urls != lane.cameras.size())
      throw Error(ErrorKind::kInvalidInput,
                  file.string() + ": cameras mix files and stream URLs (give all as \"url\")");
    lane.stream = urls > 0;
    lane.segment_s = j.value("segment_s", 10.0);
    if (lane.stream && !(lane.segment_s >= 0.2 && lane.segment_s <= 600))
      throw Error(ErrorKind::kInvalidInput, file.string() + ": segment_s must be 0.2..600");
    if (j.contains("vehicles")) {
      for (const auto& v : j.at("vehicles"))
        lane.vehicles.push_back(
            {v.at("id").get<std::string>(), v.value("start_s", 0.0), v.value("frames", 0)});
    } else if (!lane.stream) {
      throw Error(ErrorKind::kInvalidInput, file.string() + ": no \"vehicles\" list");
    }
    if (lane.id.empty()) throw Error(ErrorKind::kInvalidInput, file.string() + ": empty lane id");
    return lane;
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::kInvalidInput, file.string() + ": " + e.what());
  }
}

capture::VehiclePass read_vehicle_pass(const LaneInfo& lane, const LaneVehicle& vehicle) {
  const auto vdir = lane.dir / "vehicles" / vehicle.id;
  capture::VehiclePass p;
  p.vehicle = vehicle.id;
  p.lane = lane.id;
  p.port = lane.port;
  p.direction = lane.direction;
  if (std::filesystem::exists(vdir / "event.json")) {
    const Json e = read_json_file(vdir / "event.json");
    p.port = e.value("port", p.port);
    p.direction = e.value("direction", p.direction);
    p.time = e.value("time", "");
    if (e.contains("documents") && e["documents"].is_array()) p.documents = e["documents"];
  }
  for (const auto& [id, file] : lane.cameras) p.cameras.push_back({id, (vdir / file).string()});
  return p;
}

LaneManager::LaneManager(Processor processor, store::Store& store, EventHub& events,
                         Metrics& metrics, std::shared_ptr<const store::Clock> clock,
                         LaneOptions options)
    : processor_(std::move(processor)),
      store_(store),
      events_(events),
      metrics_(metrics),
      clock_(std::move(clock)),
      options_(std::move(options)),
      worker_([this] { work(); }) {
  if (options_.spool.empty())
    options_.spool = std::filesystem::temp_directory_path() /
                     ("laneface-streams-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
}

LaneManager::~LaneManager() { shutdown(); }

void LaneManager::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    if (shutdown_) return;
    shutdown_ = true;
    for (auto& [id, lane] : lanes_) {
      if (lane.stop_flag) *lane.stop_flag = true;
      if (lane.replay.joinable()) threads.push_back(std::move(lane.replay));
    }
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
  if (worker_.joinable()) worker_.join();
}

std::string LaneManager::add_lane_dir(const std::filesystem::path& dir) {
  LaneInfo info = read_lane_dir(dir);
  std::lock_guard lock(mutex_);
  auto it = lanes_.find(info.id);
  if (it != lanes_.end() && !it->second.info.dir.empty() && it->second.info.dir != dir) {
    throw Error(ErrorKind::kInvalidInput, "lane " + info.id + " of " + dir.string() +
                                              " is already registered from " +
                                              it->second.info.dir.string());
  }
  const std::string id = info.id;
  lanes_[id].info = std::move(info);
  return id;
}

void LaneManager::add_stream_lane(LaneInfo info) {
  if (info.cameras.empty())
    throw Error(ErrorKind::kInvalidInput, "lane " + info.id + ": no cameras");
  if (info.cameras.size() > kMaxStreamCameras)
    throw Error(ErrorKind::kInvalidInput, "lane " + info.id + ": more than " +
                                              std::to_string(kMaxStreamCameras) + " cameras");
  for (const auto& [cid, url] : info.cameras) check_stream_url(cid, url);
  info.stream = true;
  info.dir.clear();
  std::lock_guard lock(mutex_);
  auto it = lanes_.find(info.id);
  if (it != lanes_.end()) {
    if (!it->second.info.dir.empty())
      throw Error(ErrorKind::kInvalidInput, "lane " + info.id + " is a lane directory (" +
                                                it->second.info.dir.string() + ")");
    if (it->second.stop_flag && !*it->second.stop_flag)
      throw Error(ErrorKind::kConfig, "lane " + info.id + " is running: stop it first");
  }
  const std::string id = info.id;
  Lane& lane = lanes_[id];
  lane.info = std::move(info);
  lane.state = "stopped";
  lane.error.clear();
}

bool LaneManager::has_lane(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return lanes_.count(id) > 0;
}

bool LaneManager::is_stream(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = lanes_.find(id);
  return it != lanes_.end() && it->second.info.stream;
}

Json LaneManager::lanes() const {
  std::lock_guard lock(mutex_);
  Json out = Json::array();
  for (const auto& [id, lane] : lanes_) {
    Json cams = Json::array();
    for (const auto& [cid, file] : lane.info.cameras) cams.push_back(cid);
    const bool running = lane.stop_flag && !*lane.stop_flag;
    Json l{{"id", id},
           {"port", lane.info.port},
           {"direction", lane.info.direction},
           {"cameras", cams},
           {"source", lane.info.stream        ? "stream"
                      : lane.info.dir.empty() ? "submitted"
                                              : "replay"},
           {"replayable", !lane.info.dir.empty() && !lane.info.stream},
           {"vehicles", lane.info.vehicles.size()},
           {"running", running},
           {"speed", lane.speed},
           {"processed", lane.processed}};
    if (lane.info.stream) {
      l["state"] = lane.state;
      l["error"] = lane.error.empty() ? Json(nullptr) : Json(lane.error);
      l["segment_s"] = lane.info.segment_s;
      l["segments"] = lane.segments;
      l["dropped_segments"] = lane.dropped;
      l["frames"] = lane.frames;
    }
    out.push_back(l);
  }
  return out;
}

Json LaneManager::cameras(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = lanes_.find(id);
  if (it == lanes_.end()) return nullptr;
  Json out = Json::array();
  for (const auto& [cid, file] : it->second.info.cameras) {
    if (it->second.info.stream) {
      out.push_back({{"id", cid}, {"url", redact_url(file)}});
      continue;
    }
    out.push_back({{"id", cid},
                   {"file", file},
                   {"fps", it->second.info.fps},
                   {"width", it->second.info.width},
                   {"height", it->second.info.height}});
  }
  return out;
}

Json LaneManager::recent(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = lanes_.find(id);
  if (it == lanes_.end()) return nullptr;
  Json out = Json::array();
  for (auto r = it->second.recent.rbegin(); r != it->second.recent.rend(); ++r) out.push_back(*r);
  return out;
}

bool LaneManager::start(const std::string& id, double speed, bool loop, StreamOptions stream) {
  std::lock_guard control(control_);
  std::thread old;
  LaneInfo info;
  {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(id);
    if (it == lanes_.end() || (it->second.info.dir.empty() && !it->second.info.stream) || shutdown_)
      return false;
    Lane& lane = it->second;
    if (lane.stop_flag) *lane.stop_flag = true;
    old = std::move(lane.replay);
    info = lane.info;
    if (info.stream) {
      lane.state = "connecting";
      lane.error.clear();
    }
  }
  cv_.notify_all();
  if (old.joinable()) old.join();
  if (info.stream) {
    stream.segment_s = info.segment_s;
    std::shared_ptr<StreamRecorder> recorder;
    try {
      recorder = StreamRecorder::connect(info.cameras, stream);
    } catch (const Error& e) {
      std::lock_guard lock(mutex_);
      Lane& lane = lanes_.at(id);
      lane.state = "error";
      lane.error = e.what();
      events_.publish("lane_error", {{"lane", id}, {"error", e.what()}});
      throw;
    }
    std::lock_guard lock(mutex_);
    if (shutdown_) return false;
    Lane& lane = lanes_.at(id);
    lane.stop_flag = std::make_shared<std::atomic<bool>>(false);
    lane.state = "running";
    lane.speed = 1;
    lane.replay = std::thread(&LaneManager::record, this, id, info, recorder, lane.stop_flag);
    return true;
  }
  std::lock_guard lock(mutex_);
  Lane& lane = lanes_.at(id);
  lane.stop_flag = std::make_shared<std::atomic<bool>>(false);
  lane.speed = speed;
  lane.loop = loop;
  lane.replay = std::thread(&LaneManager::replay, this, id, lane.info, speed, loop, lane.stop_flag);
  return true;
}

bool LaneManager::stop(const std::string& id) {
  std::lock_guard control(control_);
  std::thread t;
  {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(id);
    if (it == lanes_.end()) return false;
    if (it->second.stop_flag) *it->second.stop_flag = true;
    t = std::move(it->second.replay);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
  return true;
}

bool LaneManager::sleep_or_stop(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [&] { return stop.load() || shutdown_; });
  return stop.load() || shutdown_;
}

void LaneManager::record(std::string id, LaneInfo info, std::shared_ptr<StreamRecorder> recorder,
                         std::shared_ptr<std::atomic<bool>> stop) {
  events_.publish("lane_started", {{"lane", id}, {"source", "stream"}, {"fps", recorder->fps()}});
  std::int64_t n = 0;
  std::string error;
  try {
    error = recorder->run(options_.spool / id, *stop, [&](StreamSegment seg) {
      capture::VehiclePass pass;
      char vid[32];
      std::snprintf(vid, sizeof vid, "live%06lld", static_cast<long long>(++n));
      pass.vehicle = vid;
      pass.lane = id;
      pass.port = info.port;
      pass.direction = info.direction;
      pass.time =
          store::format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(seg.start));
      for (const auto& [cid, file] : seg.files) pass.cameras.push_back({cid, file});
      const auto frames = seg.frames * static_cast<std::int64_t>(seg.files.size());
      // A live stream cannot wait: a full queue drops the segment (counted, reported).
      const bool queued = submit(pass, frames, seg.folder) >= 0;
      if (!queued) {
        std::error_code ec;
        std::filesystem::remove_all(seg.folder, ec);
        events_.publish(
            "lane_error",
            {{"lane", id}, {"vehicle", pass.vehicle}, {"error", "queue full: dropped"}});
      }
      std::lock_guard lock(mutex_);
      Lane& lane = lanes_[id];
      ++(queued ? lane.segments : lane.dropped);
      lane.frames = recorder->frames();
    });
  } catch (const std::exception& e) {
    error = e.what();
  }
  const auto frames = recorder->frames();
  recorder.reset();  // streams closed
  {
    std::lock_guard lock(mutex_);
    Lane& lane = lanes_[id];
    lane.frames = frames;
    lane.state = error.empty() ? "stopped" : "error";
    lane.error = error;
  }
  *stop = true;
  if (!error.empty()) {
    metrics_.processing_error();
    events_.publish("lane_error", {{"lane", id}, {"error", error}});
  }
  events_.publish("lane_stopped", {{"lane", id}});
}

void LaneManager::replay(std::string id, LaneInfo info, double speed, bool loop,
                         std::shared_ptr<std::atomic<bool>> stop) {
  events_.publish("lane_started", {{"lane", id}, {"speed", speed}});
  do {
    double previous = info.vehicles.empty() ? 0 : info.vehicles.front().start_s;
    for (const auto& v : info.vehicles) {
      const auto wait = std::chrono::milliseconds(
          static_cast<std::int64_t>(1000.0 * std::max(0.0, v.start_s - previous) / speed));
      previous = v.start_s;
      if (sleep_or_stop(*stop, wait)) break;
      try {
        auto pass = read_vehicle_pass(info, v);
        if (options_.restamp) pass.time = store::format_time(clock_->now());
        const auto frames = v.frames * static_cast<std::int64_t>(info.cameras.size());
        // A full queue holds the replay back (a real lane would buffer upstream).
        while (submit(pass, frames) < 0) {
          if (sleep_or_stop(*stop, std::chrono::milliseconds(200))) break;
        }
      } catch (const std::exception& e) {
        metrics_.processing_error();
        events_.publish("lane_error", {{"lane", id}, {"vehicle", v.id}, {"error", e.what()}});
      }
    }
  } while (loop && !*stop && !shutdown_);
  *stop = true;
  events_.publish("lane_stopped", {{"lane", id}});
}

std::int64_t LaneManager::submit(capture::VehiclePass pass, std::int64_t frames,
                                 std::filesystem::path cleanup) {
  std::int64_t position = 0;
  {
    std::lock_guard lock(mutex_);
    if (shutdown_ || queue_.size() >= options_.max_queue) return -1;
    if (!lanes_.count(pass.lane)) {
      Lane& lane = lanes_[pass.lane];
      lane.info.id = pass.lane;
      lane.info.port = pass.port;
      lane.info.direction = pass.direction;
      for (const auto& c : pass.cameras) lane.info.cameras.emplace_back(c.camera, "");
    }
    queue_.push_back({std::move(pass), frames, std::move(cleanup)});
    position = static_cast<std::int64_t>(queue_.size());
    metrics_.set_queue_depth(position);
  }
  cv_.notify_all();
  return position;
}

std::int64_t LaneManager::queue_depth() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(queue_.size());
}

bool LaneManager::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

void LaneManager::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return shutdown_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shutdown
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      metrics_.set_queue_depth(static_cast<std::int64_t>(queue_.size()));
    }
    run(std::move(job));
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    idle_cv_.notify_all();
  }
}

void LaneManager::run(Job job) {
  const auto& pass = job.pass;
  const Json who{{"lane", pass.lane}, {"vehicle", pass.vehicle}};
  auto tagged = [&](Json data) {
    if (!data.is_object()) data = Json{{"data", std::move(data)}};
    for (const auto& [k, v] : who.items())
      if (!data.contains(k)) data[k] = v;
    return data;
  };
  events_.publish("vehicle_arrived", tagged({{"direction", pass.direction},
                                             {"time", pass.time},
                                             {"port", pass.port},
                                             {"documents", pass.documents.size()},
                                             {"cameras", pass.cameras.size()}}));
  capture::Observer observer;
  observer.vehicle_arrived = [&](const Json& j) { events_.publish("vehicle_update", tagged(j)); };
  observer.occupant_captured = [&](const Json& j) {
    events_.publish("occupant_captured", tagged(j));
  };
  observer.decision_ready = [&](const Json& j) { events_.publish("decision_ready", tagged(j)); };
  const auto t0 = std::chrono::steady_clock::now();
  Json done = tagged({{"direction", pass.direction}, {"time", pass.time}});
  try {
    Json result = processor_(pass, observer);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::int64_t captured = 0, not_captured = 0;
    std::vector<std::string> outcomes;
    if (result.contains("occupants") && result["occupants"].is_array()) {
      for (const auto& o : result["occupants"]) {
        if (o.value("captured", true)) {
          ++captured;
        } else {
          ++not_captured;
        }
        if (o.contains("match") && o["match"].is_object())
          outcomes.push_back(o["match"].value("outcome", "unknown"));
      }
    }
    if (result.contains("not_captured") && result["not_captured"].is_array()) {
      not_captured += static_cast<std::int64_t>(result["not_captured"].size());
      for (std::size_t i = 0; i < result["not_captured"].size(); ++i)
        outcomes.emplace_back("not_captured");
    }
    const double latency = result.contains("latency_ms") && result["latency_ms"].is_number()
                               ? result["latency_ms"].get<double>() / 1000.0
                               : wall;
    // The pipeline reports frames per camera; the metric counts frames of all cameras.
    const std::int64_t frames =
        result.contains("frames") && result["frames"].is_number_integer()
            ? result["frames"].get<std::int64_t>() *
                  std::max<std::int64_t>(1, static_cast<std::int64_t>(pass.cameras.size()))
            : job.frames;
    metrics_.vehicle(frames, captured, not_captured, latency, outcomes);
    done["result"] = result;
    done["record"] = nullptr;
    if (result.contains("crossing_id") && result["crossing_id"].is_number_integer()) {
      if (const auto r = store_.crossing_record(result["crossing_id"].get<store::Id>()))
        done["record"] = store::to_json(*r);
    }
  } catch (const std::exception& e) {
    metrics_.processing_error();
    done["error"] = e.what();
  }
  {
    std::lock_guard lock(mutex_);
    Lane& lane = lanes_[pass.lane];
    lane.recent.push_back(done);
    while (lane.recent.size() > options_.recent) lane.recent.pop_front();
    ++lane.processed;
  }
  ++processed_;
  events_.publish("vehicle_done", done);
  if (!job.cleanup.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(job.cleanup, ec);
  }
}

}  // namespace laneface::service
