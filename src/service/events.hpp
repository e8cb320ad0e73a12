#pragma once
// Live lane events for server-sent events: a hub that numbers each event and hands it to
// every subscriber. Each subscriber has its own bounded queue, so a slow client never holds
// up the lane or other clients; one that falls behind by more than the queue loses the oldest
// events and is told so (its next event carries the gap). Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace laneface::service {

struct Event {
  std::int64_t id = 0;  // 1, 2, 3, ... per hub
  std::string type;     // vehicle_arrived, occupant_captured, decision_ready, vehicle_done, ...
  nlohmann::json data;
  // "id: N\nevent: TYPE\ndata: JSON\n\n"
  std::string to_sse() const;
};

class EventHub {
 public:
  class Subscription {
   public:
    // The next event, waiting up to `timeout`; nullopt on timeout or when the hub closed.
    std::optional<Event> next(std::chrono::milliseconds timeout);
    bool closed() const;
    std::int64_t dropped() const;

   private:
    friend class EventHub;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    std::size_t capacity_ = 1024;
    std::int64_t dropped_ = 0;
    bool closed_ = false;
  };

  explicit EventHub(std::size_t queue_capacity = 1024, std::size_t history = 256);
  ~EventHub();

  // Subscribes; events after `last_event_id` still in the history are queued first (for a
  // reconnecting EventSource's Last-Event-ID).
  std::shared_ptr<Subscription> subscribe(std::int64_t last_event_id = 0);
  void unsubscribe(const std::shared_ptr<Subscription>& sub);
  std::int64_t publish(const std::string& type, nlohmann::json data);
  // Wakes every subscriber with "closed"; later subscriptions are closed at once.
  void close();
  std::size_t subscribers() const;
  std::int64_t published() const;

 private:
  static void push(Subscription& s, const Event& e);
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::size_t history_size_;
  std::deque<Event> history_;
  std::vector<std::shared_ptr<Subscription>> subs_;
  std::int64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace laneface::service
