#include "store/crypto.hpp"

#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "core/error.hpp"

namespace laneface::store {

namespace {

using core::Error;
using core::ErrorKind;

void ensure_sodium() {
  static const int kReady = sodium_init();
  if (kReady < 0) throw Error(ErrorKind::kInternal, "libsodium failed to initialise");
}

std::span<const unsigned char> as_bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

}  // namespace

Key Key::generate() {
  ensure_sodium();
  Key k;
  randombytes_buf(k.bytes_.data(), kSize);
  k.source_ = "generated key";
  return k;
}

Key Key::parse(std::string_view text, const std::string& source) {
  ensure_sodium();
  Key k;
  k.source_ = source;
  if (text.size() == kSize) {
    std::copy(text.begin(), text.end(), k.bytes_.begin());
    return k;
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const std::string_view hex =
      first == std::string_view::npos ? std::string_view{} : text.substr(first, last - first + 1);
  std::size_t decoded = 0;
  if (hex.size() != 2 * kSize ||
      sodium_hex2bin(k.bytes_.data(), kSize, hex.data(), hex.size(), nullptr, &decoded, nullptr) !=
          0 ||
      decoded != kSize) {
    throw Error(ErrorKind::kConfig,
                source + ": a key must be 32 raw bytes or 64 hex characters, found " +
                    std::to_string(text.size()) + " bytes");
  }
  return k;
}

Key::Key(const Key& other) : bytes_(other.bytes_), source_(other.source_) {}

Key& Key::operator=(const Key& other) {
  bytes_ = other.bytes_;
  source_ = other.source_;
  return *this;
}

Key::~Key() { sodium_memzero(bytes_.data(), kSize); }

Key load_key_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorKind::kNotFound, "key file " + path.string() + ": no such file");
  }
  if (std::filesystem::file_size(path, ec) > 4096) {
    throw Error(ErrorKind::kConfig,
                "key file " + path.string() +
                    ": a key must be 32 raw bytes or 64 hex characters, the file is larger");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Key key = Key::parse(text, "key file " + path.string());
  sodium_memzero(text.data(), text.size());
  return key;
}

std::optional<Key> key_from_env() {
  const char* env = std::getenv("LANEFACE_KEY");
  if (!env || !*env) return std::nullopt;
  const std::string_view text(env);
  if (text.size() == Key::kSize) {  // only hex is accepted from the environment
    throw Error(ErrorKind::kConfig, "LANEFACE_KEY: a key must be 64 hex characters");
  }
  return Key::parse(text, "LANEFACE_KEY");
}

Bytes seal(const Key& key, std::span<const unsigned char> plaintext, std::string_view associated) {
  ensure_sodium();
  constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  Bytes out(kNonce + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(out.data(), kNonce);
  unsigned long long written = 0;
  const auto ad = as_bytes(associated);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonce, &written, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             out.data(), key.data());
  out.resize(kNonce + written);
  return out;
}

Bytes unseal(const Key& key, std::span<const unsigned char> sealed, std::string_view associated,
             const std::string& what) {
  ensure_sodium();
  constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kNonce + kTag) {
    throw Error(ErrorKind::kConfig, what + ": encrypted record is truncated");
  }
  Bytes out(sealed.size() - kNonce - kTag);
  unsigned long long written = 0;
  const auto ad = as_bytes(associated);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &written, nullptr, sealed.data() + kNonce, sealed.size() - kNonce, ad.data(),
          ad.size(), sealed.data(), key.data()) != 0) {
    throw Error(ErrorKind::kConfig, what + ": cannot decrypt with the key from " + key.source() +
                                        " (wrong key, or the record was altered)");
  }
  out.resize(written);
  return out;
}

Sha256 sha256(std::span<const unsigned char> bytes) {
  ensure_sodium();
  Sha256 h{};
  crypto_hash_sha256(h.data(), bytes.data(), bytes.size());
  return h;
}

std::string to_hex(std::span<const unsigned char> bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  hex.pop_back();
  return hex;
}

}  // namespace laneface::store
