#include "vision/sha256.hpp"

#include <sodium.h>

#include <fstream>

#include "core/error.hpp"

namespace laneface::vision {

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes.data(), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  using core::Error;
  using core::ErrorKind;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorKind::kNotFound, path.string() + ": no such file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorKind::kIo, path.string() + ": " + ec.message());
  std::vector<std::uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw Error(ErrorKind::kIo, path.string() + ": read failed");
  }
  return bytes;
}

}  // namespace laneface::vision
