#pragma once
// Access control of the service: argon2id password hashes (libsodium crypto_pwhash_str),
// random session tokens stored only as SHA-256 hashes, expiry against an injectable clock,
// per-route role sets and a login rate limiter.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "store/clock.hpp"
#include "store/store.hpp"

namespace laneface::service {

using store::UserRole;

// A set of roles, as a bit mask.
class Roles {
 public:
  constexpr Roles() = default;
  constexpr Roles(std::initializer_list<UserRole> roles) {
    for (auto r : roles) bits_ |= bit(r);
  }
  static constexpr Roles all() {
    return {UserRole::kOfficer, UserRole::kSupervisor, UserRole::kAuditor, UserRole::kAdmin};
  }
  constexpr bool contains(UserRole r) const { return (bits_ & bit(r)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  std::string describe() const;  // "officer, supervisor"

 private:
  static constexpr unsigned bit(UserRole r) { return 1u << static_cast<unsigned>(r); }
  unsigned bits_ = 0;
};

// argon2id cost. kInteractive is libsodium's interactive preset (64 MiB); tests use kMin.
struct HashCost {
  std::uint64_t ops = 2;
  std::size_t mem = 64u << 20;
  static HashCost interactive();
  static HashCost minimum();
};

std::string hash_password(const std::string& password, const HashCost& cost);
bool verify_password(const std::string& hash, const std::string& password);
// 32 random bytes as 64 hex characters.
std::string random_token();
// SHA-256 of the token, hex: what the store keeps.
std::string token_hash(const std::string& token);
// A random password of `length` letters and digits, for the first admin.
std::string random_password(std::size_t length = 20);

struct Principal {
  store::Id user_id = 0;
  std::string name;
  UserRole role = UserRole::kOfficer;
};

// Too many failed logins for one user name or one client address within a window lock it
// out until the window passes.
class LoginLimiter {
 public:
  LoginLimiter(std::shared_ptr<const store::Clock> clock, int max_failures,
               std::chrono::milliseconds window);
  // Seconds to wait, or 0 when a login may be tried.
  std::int64_t retry_after(const std::string& key);
  void failure(const std::string& key);
  void success(const std::string& key);

 private:
  struct Entry {
    int failures = 0;
    store::TimePoint first{};
  };
  std::shared_ptr<const store::Clock> clock_;
  int max_failures_;
  std::chrono::milliseconds window_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

struct AuthConfig {
  std::chrono::milliseconds session_ttl = std::chrono::hours(8);
  HashCost cost = HashCost::interactive();
  int max_login_failures = 5;
  std::chrono::milliseconds login_window = std::chrono::minutes(5);
};

// Logins, sessions and users over the store.
class Auth {
 public:
  Auth(store::Store& store, std::shared_ptr<const store::Clock> clock, AuthConfig config);

  struct LoginResult {
    std::optional<std::string> token;  // set on success
    Principal principal;
    store::TimePoint expires_at{};
    std::int64_t retry_after_s = 0;  // > 0: rate-limited
  };
  // Audits success and failure (user name and client, never the password).
  LoginResult login(const std::string& name, const std::string& password,
                    const std::string& client);
  void logout(const std::string& token);
  // The principal of a valid, unexpired token.
  std::optional<Principal> authenticate(const std::string& token);
  store::User add_user(const std::string& name, UserRole role, const std::string& password,
                       const std::string& actor);
  const AuthConfig& config() const { return config_; }

 private:
  store::Store& store_;
  std::shared_ptr<const store::Clock> clock_;
  AuthConfig config_;
  LoginLimiter limiter_;
};

}  // namespace laneface::service
