#include "core/toml_file.hpp"

#include "core/error.hpp"

namespace laneface::core {

toml::table read_toml_file(const std::filesystem::path& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorKind::kNotFound, path.string() + ": " + what + " not found");
  }
  try {
    return toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::kConfig, path.string() + ": line " +
                                        std::to_string(e.source().begin.line) + ": " +
                                        std::string(e.description()));
  }
}

}  // namespace laneface::core
