#pragma once
// The one way laneface reads a TOML file: a missing file is Error(kNotFound) saying what the
// file is (`what`, with a hint where useful); a syntax error is Error(kConfig) naming file and
// line.
#include <toml++/toml.h>

#include <filesystem>
#include <string>

namespace laneface::core {

toml::table read_toml_file(const std::filesystem::path& path, const std::string& what);

}  // namespace laneface::core
