#include "service/auth.hpp"

#include <sodium.h>

#include <array>

#include "core/error.hpp"

namespace laneface::service {

using core::Error;
using core::ErrorKind;

namespace {

void init_sodium() {
  if (sodium_init() < 0) throw Error(ErrorKind::kInternal, "libsodium failed to initialise");
}

std::string hex(const unsigned char* data, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

}  // namespace

std::string Roles::describe() const {
  std::string out;
  for (auto r : {UserRole::kOfficer, UserRole::kSupervisor, UserRole::kAuditor, UserRole::kAdmin}) {
    if (contains(r)) out += (out.empty() ? "" : ", ") + std::string(store::to_string(r));
  }
  return out;
}

HashCost HashCost::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
HashCost HashCost::minimum() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

std::string hash_password(const std::string& password, const HashCost& cost) {
  init_sodium();
  if (password.size() < 8)
    throw Error(ErrorKind::kInvalidInput, "password: at least 8 characters are needed");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), cost.ops, cost.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error(ErrorKind::kInternal, "password hashing ran out of memory");
  }
  return out.data();
}

bool verify_password(const std::string& hash, const std::string& password) {
  init_sodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string random_token() {
  init_sodium();
  std::array<unsigned char, 32> b{};
  randombytes_buf(b.data(), b.size());
  return hex(b.data(), b.size());
}

std::string token_hash(const std::string& token) {
  init_sodium();
  std::array<unsigned char, crypto_hash_sha256_BYTES> h{};
  crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return hex(h.data(), h.size());
}

std::string random_password(std::size_t length) {
  init_sodium();
  static constexpr std::string_view kAlphabet =
      "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (std::size_t i = 0; i < length; ++i)
    out += kAlphabet[randombytes_uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
  return out;
}

LoginLimiter::LoginLimiter(std::shared_ptr<const store::Clock> clock, int max_failures,
                           std::chrono::milliseconds window)
    : clock_(std::move(clock)), max_failures_(max_failures), window_(window) {}

std::int64_t LoginLimiter::retry_after(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  const auto now = clock_->now();
  if (now - it->second.first >= window_) {
    entries_.erase(it);
    return 0;
  }
  if (it->second.failures < max_failures_) return 0;
  const auto left = window_ - (now - it->second.first);
  return std::max<std::int64_t>(1, (left.count() + 999) / 1000);
}

void LoginLimiter::failure(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto now = clock_->now();
  auto& e = entries_[key];
  if (e.failures == 0 || now - e.first >= window_) e = {0, now};
  ++e.failures;
  if (entries_.size() > 100000) entries_.clear();  // bounded memory under a flood
}

void LoginLimiter::success(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

Auth::Auth(store::Store& store, std::shared_ptr<const store::Clock> clock, AuthConfig config)
    : store_(store),
      clock_(std::move(clock)),
      config_(config),
      limiter_(clock_, config.max_login_failures, config.login_window) {}

Auth::LoginResult Auth::login(const std::string& name, const std::string& password,
                              const std::string& client) {
  LoginResult r;
  const std::string user_key = "user:" + name, client_key = "client:" + client;
  r.retry_after_s = std::max(limiter_.retry_after(user_key), limiter_.retry_after(client_key));
  if (r.retry_after_s > 0) {
    store_.record_event(
        {name.empty() ? "anonymous" : name, "login_throttled", "", {{"client", client}}});
    return r;
  }
  const auto user = store_.find_user(name);
  // Unknown users cost a hash check too, so timing does not tell which names exist.
  static const std::string kDummy = hash_password("not a real password", HashCost::minimum());
  const bool ok = user && user->active ? verify_password(user->password_hash, password)
                                       : (verify_password(kDummy, password), false);
  if (!ok) {
    limiter_.failure(user_key);
    limiter_.failure(client_key);
    store_.record_event(
        {name.empty() ? "anonymous" : name, "login_failed", "", {{"client", client}}});
    return r;
  }
  limiter_.success(user_key);
  const std::string token = random_token();
  const auto now = clock_->now();
  r.expires_at = now + config_.session_ttl;
  store_.add_session({token_hash(token), user->id, user->name, user->role, now, r.expires_at});
  store_.record_event({user->name,
                       "login",
                       "user:" + std::to_string(user->id),
                       {{"client", client}, {"role", store::to_string(user->role)}}});
  r.token = token;
  r.principal = {user->id, user->name, user->role};
  return r;
}

void Auth::logout(const std::string& token) { store_.delete_session(token_hash(token)); }

std::optional<Principal> Auth::authenticate(const std::string& token) {
  if (token.size() != 64) return std::nullopt;
  const auto s = store_.find_session(token_hash(token));
  if (!s || clock_->now() >= s->expires_at) return std::nullopt;
  return Principal{s->user_id, s->user_name, s->role};
}

store::User Auth::add_user(const std::string& name, UserRole role, const std::string& password,
                           const std::string& actor) {
  store::User u;
  u.name = name;
  u.role = role;
  u.password_hash = hash_password(password, config_.cost);
  return store_.add_user(u, actor);
}

}  // namespace laneface::service
