#include "service/events.hpp"

#include <algorithm>

namespace laneface::service {

std::string Event::to_sse() const {
  return "id: " + std::to_string(id) + "\nevent: " + type + "\ndata: " + data.dump() + "\n\n";
}

std::optional<Event> EventHub::Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
  if (queue_.empty()) return std::nullopt;
  Event e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

bool EventHub::Subscription::closed() const {
  std::lock_guard lock(mutex_);
  return closed_ && queue_.empty();
}

std::int64_t EventHub::Subscription::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

EventHub::EventHub(std::size_t queue_capacity, std::size_t history)
    : capacity_(std::max<std::size_t>(1, queue_capacity)), history_size_(history) {}

EventHub::~EventHub() { close(); }

void EventHub::push(Subscription& s, const Event& e) {
  {
    std::lock_guard lock(s.mutex_);
    if (s.closed_) return;
    if (s.queue_.size() >= s.capacity_) {
      s.queue_.pop_front();
      ++s.dropped_;
    }
    s.queue_.push_back(e);
  }
  s.cv_.notify_one();
}

std::shared_ptr<EventHub::Subscription> EventHub::subscribe(std::int64_t last_event_id) {
  auto sub = std::make_shared<Subscription>();
  sub->capacity_ = capacity_;
  std::lock_guard lock(mutex_);
  if (closed_) {
    sub->closed_ = true;
    return sub;
  }
  if (last_event_id > 0) {
    for (const auto& e : history_)
      if (e.id > last_event_id) push(*sub, e);
  }
  subs_.push_back(sub);
  return sub;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscription>& sub) {
  std::lock_guard lock(mutex_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), sub), subs_.end());
}

std::int64_t EventHub::publish(const std::string& type, nlohmann::json data) {
  std::lock_guard lock(mutex_);
  Event e{next_id_++, type, std::move(data)};
  for (const auto& s : subs_) push(*s, e);
  history_.push_back(e);
  while (history_.size() > history_size_) history_.pop_front();
  return e.id;
}

void EventHub::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (const auto& s : subs_) {
    {
      std::lock_guard l(s->mutex_);
      s->closed_ = true;
    }
    s->cv_.notify_all();
  }
  subs_.clear();
}

std::size_t EventHub::subscribers() const {
  std::lock_guard lock(mutex_);
  return subs_.size();
}

std::int64_t EventHub::published() const {
  std::lock_guard lock(mutex_);
  return next_id_ - 1;
}

}  // namespace laneface::service
