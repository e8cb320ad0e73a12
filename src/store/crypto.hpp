#pragma once
// Encryption at rest (libsodium XChaCha20-Poly1305 IETF) and SHA-256. The key lives in a key
// file or $LANEFACE_KEY, never in the database. Sealed records are nonce (24 random bytes)
// followed by ciphertext and tag; the associated data binds a record to its kind and id, so a
// blob copied to another row does not decrypt.
#include <array>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.hpp"

namespace laneface::store {

using Bytes = std::vector<unsigned char>;

// A 32-byte secret key; wiped on destruction. `source` says where it came from (for messages;
// never the key itself).
class Key {
 public:
  static constexpr std::size_t kSize = 32;

  static Key generate();
  // 32 raw bytes, or 64 hex characters (surrounding whitespace ignored). Throws
  // Error(kConfig) naming `source` otherwise.
  static Key parse(std::string_view text, const std::string& source);

  Key(const Key& other);
  Key& operator=(const Key& other);
  ~Key();

  const unsigned char* data() const { return bytes_.data(); }
  const std::string& source() const { return source_; }

 private:
  Key() = default;
  std::array<unsigned char, kSize> bytes_{};
  std::string source_;
};

// Throws Error(kNotFound) for a missing file, Error(kConfig) naming the file for a wrong size.
Key load_key_file(const std::filesystem::path& path);
// $LANEFACE_KEY (64 hex characters), or nullopt when unset.
std::optional<Key> key_from_env();

Bytes seal(const Key& key, std::span<const unsigned char> plaintext, std::string_view associated);
// Throws Error(kConfig) naming `what` when the key is wrong or the record was altered.
Bytes unseal(const Key& key, std::span<const unsigned char> sealed, std::string_view associated,
             const std::string& what);

Sha256 sha256(std::span<const unsigned char> bytes);
std::string to_hex(std::span<const unsigned char> bytes);

}  // namespace laneface::store
