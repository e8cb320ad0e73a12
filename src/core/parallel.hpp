#pragma once
// Runs fn(i) for i in [0, n) on `threads` workers. The first exception stops the remaining
// work and is rethrown in the caller. `progress(done)` is called from workers (serialised)
// roughly every `every` items.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace laneface::core {

inline void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn,
                         const std::function<void(std::size_t)>& progress = {},
                         std::size_t every = 500) {
  std::atomic<std::size_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mutex;
  auto worker = [&] {
    for (std::size_t i; !failed && (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        failed = true;
        return;
      }
      const std::size_t d = ++done;
      if (progress && (d % every == 0 || d == n)) {
        std::lock_guard lock(mutex);
        progress(d);
      }
    }
  };
  const int t = std::max(1, std::min<int>(threads, static_cast<int>(std::max<std::size_t>(n, 1))));
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace laneface::core
