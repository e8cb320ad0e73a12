#pragma once
// A thin RAII layer over the SQLite C API: a connection with a cache of prepared statements,
// statements with typed binds and columns, and an IMMEDIATE transaction that rolls back unless
// committed. Values only ever enter SQL through bind(). Not thread-safe.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace laneface::store::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& db_name);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::span<const unsigned char> blob);
  Statement& bind(int index, std::nullopt_t);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }
  // Binds the arguments to parameters 1..n.
  template <class... A>
  Statement& bind_all(const A&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  bool step();  // true while a row is available
  void run();   // steps to the end, for statements without rows
  void reset();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  std::vector<unsigned char> blob(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;
  std::optional<double> opt_real(int col) const;
  std::optional<std::string> opt_text(int col) const;

 private:
  [[noreturn]] void fail(int rc, const std::string& what) const;
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string db_name_;
};

class Db {
 public:
  // Throws Error(kNotFound) when the file is absent and !create, Error(kIo) when SQLite refuses.
  Db(const std::filesystem::path& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // For schema and pragmas only: SQL text without values.
  void exec(const std::string& sql);
  // A cached statement, reset and with bindings cleared.
  Statement& prepare(const std::string& sql);
  std::int64_t last_insert_id() const;
  const std::string& name() const { return name_; }

 private:
  sqlite3* db_ = nullptr;
  std::string name_;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
};

// kWrite takes the write lock at once (BEGIN IMMEDIATE); kRead is a consistent snapshot.
class Transaction {
 public:
  enum class Mode { kRead, kWrite };
  explicit Transaction(Db& db, Mode mode = Mode::kWrite);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace laneface::store::sqlite
