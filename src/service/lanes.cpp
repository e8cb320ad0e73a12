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
    for (const auto& c : j.at("cameras"))
      lane.cameras.emplace_back(c.at("id").get<std::string>(), c.at("file").get<std::string>());
    for (const auto& v : j.at("vehicles"))
      lane.vehicles.push_back(
          {v.at("id").get<std::string>(), v.value("start_s", 0.0), v.value("frames", 0)});
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
      options_(options),
      worker_([this] { work(); }) {}

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

bool LaneManager::has_lane(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return lanes_.count(id) > 0;
}

Json LaneManager::lanes() const {
  std::lock_guard lock(mutex_);
  Json out = Json::array();
  for (const auto& [id, lane] : lanes_) {
    Json cams = Json::array();
    for (const auto& [cid, file] : lane.info.cameras) cams.push_back(cid);
    out.push_back({{"id", id},
                   {"port", lane.info.port},
                   {"direction", lane.info.direction},
                   {"cameras", cams},
                   {"replayable", !lane.info.dir.empty()},
                   {"vehicles", lane.info.vehicles.size()},
                   {"running", lane.stop_flag && !*lane.stop_flag},
                   {"speed", lane.speed},
                   {"processed", lane.processed}});
  }
  return out;
}

Json LaneManager::cameras(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = lanes_.find(id);
  if (it == lanes_.end()) return nullptr;
  Json out = Json::array();
  for (const auto& [cid, file] : it->second.info.cameras) {
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

bool LaneManager::start(const std::string& id, double speed, bool loop) {
  std::thread old;
  {
    std::lock_guard lock(mutex_);
    auto it = lanes_.find(id);
    if (it == lanes_.end() || it->second.info.dir.empty() || shutdown_) return false;
    Lane& lane = it->second;
    if (lane.stop_flag) *lane.stop_flag = true;
    old = std::move(lane.replay);
  }
  cv_.notify_all();
  if (old.joinable()) old.join();
  std::lock_guard lock(mutex_);
  Lane& lane = lanes_.at(id);
  lane.stop_flag = std::make_shared<std::atomic<bool>>(false);
  lane.speed = speed;
  lane.loop = loop;
  lane.replay = std::thread(&LaneManager::replay, this, id, lane.info, speed, loop, lane.stop_flag);
  return true;
}

bool LaneManager::stop(const std::string& id) {
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
    metrics_.vehicle(result.value("frames", job.frames), captured, not_captured, latency, outcomes);
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
