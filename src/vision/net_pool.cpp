#include "vision/net_pool.hpp"

#include "core/error.hpp"

namespace laneface::vision {

NetPool::NetPool(const Manifest& manifest, const ModelSpec& spec)
    : NetPool(spec, [bytes = std::make_shared<const std::vector<std::uint8_t>>(
                         load_verified_model(manifest, spec))] {
        return cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes->data()),
                                        bytes->size());
      }) {}

NetPool::NetPool(ModelSpec spec, NetFactory factory)
    : spec_(std::move(spec)), factory_(std::move(factory)) {
  free_.push_back(make_net());
}

std::unique_ptr<cv::dnn::Net> NetPool::make_net() const {
  try {
    auto net = std::make_unique<cv::dnn::Net>(factory_());
    if (net->empty())
      throw core::Error(core::ErrorKind::kModelIntegrity, spec_.file + ": empty network");
    net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    throw core::Error(core::ErrorKind::kModelIntegrity,
                      spec_.file + ": OpenCV cannot load the model: " + e.err);
  }
}

NetPool::Lease NetPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      auto net = std::move(free_.back());
      free_.pop_back();
      return Lease(*this, std::move(net));
    }
  }
  return Lease(*this, make_net());
}

void NetPool::release(std::unique_ptr<cv::dnn::Net> net) {
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(net));
}

NetPool::Lease::~Lease() {
  if (net_) pool_->release(std::move(net_));
}

}  // namespace laneface::vision
