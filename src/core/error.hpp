#pragma once
// Errors that abort an operation. Expected outcomes ("no face", "no match", "quality too
// low") are results with reasons, never exceptions (docs/architecture.md).
#include <stdexcept>
#include <string>
#include <string_view>

namespace laneface::core {

enum class ErrorKind {
  kInvalidInput,    // outside input is malformed: image, CSV, JSON, config, HTTP body
  kNotFound,        // a named file, model or record does not exist
  kModelIntegrity,  // a model file failed its SHA-256 or does not match its manifest entry
  kConfig,          // configuration is inconsistent
  kIo,              // the operating system refused a read or write
  kInternal,        // a broken invariant: a bug
};

std::string_view to_string(ErrorKind kind);

// Every message names the input (file, field, URL) and the problem.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message);
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace laneface::core
