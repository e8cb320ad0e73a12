#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace laneface::vision {

// Lower-case hex SHA-256 (libsodium's implementation).
std::string sha256_hex(std::span<const std::uint8_t> bytes);

// Reads a whole file. Throws core::Error(kNotFound / kIo) naming the path.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);

}  // namespace laneface::vision
