#pragma once
// cv::dnn::Net is not thread-safe: a pool hands each concurrent caller its own instance,
// created lazily from the verified model bytes. Parallelism is across images and frames,
// never inside one net.
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <opencv2/dnn.hpp>

#include "vision/manifest.hpp"

namespace laneface::vision {

class NetPool {
 public:
  // Verifies the model's SHA-256 (load_verified_model) and builds one net to prove it loads.
  // Throws core::Error naming the model file when it is missing, altered or unreadable.
  NetPool(const Manifest& manifest, const ModelSpec& spec);

  class Lease {
   public:
    Lease(NetPool& pool, std::unique_ptr<cv::dnn::Net> net) : pool_(&pool), net_(std::move(net)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease();
    cv::dnn::Net& net() { return *net_; }

   private:
    NetPool* pool_;
    std::unique_ptr<cv::dnn::Net> net_;
  };

  // Thread-safe. The lease returns the net to the pool when it goes out of scope.
  Lease acquire();
  const ModelSpec& spec() const { return spec_; }

 private:
  std::unique_ptr<cv::dnn::Net> make_net() const;
  void release(std::unique_ptr<cv::dnn::Net> net);

  ModelSpec spec_;
  std::vector<std::uint8_t> bytes_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<cv::dnn::Net>> free_;
};

}  // namespace laneface::vision
