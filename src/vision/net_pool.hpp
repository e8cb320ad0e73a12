#pragma once
// cv::dnn::Net is not thread-safe: a pool hands each concurrent caller its own instance,
// created lazily by a factory (from the verified ONNX bytes, or assembled layer by layer).
// Parallelism is across images and frames, never inside one net.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <opencv2/dnn.hpp>
#include <vector>

#include "vision/manifest.hpp"

namespace laneface::vision {

class NetPool {
 public:
  // Verifies the model's SHA-256 (load_verified_model) and builds one net to prove it loads.
  // Throws core::Error naming the model file when it is missing, altered or unreadable.
  NetPool(const Manifest& manifest, const ModelSpec& spec);

  // Builds nets with `factory` (called once here to prove it works, then whenever the pool
  // runs dry). Throws core::Error(kModelIntegrity) naming the model file when it fails.
  using NetFactory = std::function<cv::dnn::Net()>;
  NetPool(ModelSpec spec, NetFactory factory);

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
  NetFactory factory_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<cv::dnn::Net>> free_;
};

}  // namespace laneface::vision
