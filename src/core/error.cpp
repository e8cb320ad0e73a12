#include "core/error.hpp"

namespace laneface::core {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return "invalid input";
    case ErrorKind::kNotFound:
      return "not found";
    case ErrorKind::kModelIntegrity:
      return "model integrity";
    case ErrorKind::kConfig:
      return "configuration";
    case ErrorKind::kIo:
      return "i/o";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "unknown";
}

Error::Error(ErrorKind kind, std::string message)
    : std::runtime_error(std::move(message)), kind_(kind) {}

}  // namespace laneface::core
