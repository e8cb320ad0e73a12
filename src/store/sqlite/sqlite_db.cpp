#include "store/sqlite/sqlite_db.hpp"

#include <sqlite3.h>

#include "core/error.hpp"

namespace laneface::store::sqlite {

using core::Error;
using core::ErrorKind;

namespace {

ErrorKind kind_of(int rc) {
  return (rc & 0xff) == SQLITE_CONSTRAINT ? ErrorKind::kInvalidInput : ErrorKind::kIo;
}

}  // namespace

Statement::Statement(sqlite3* db, const std::string& sql, const std::string& db_name)
    : db_(db), db_name_(db_name) {
  const int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(rc, "preparing a statement");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::fail(int rc, const std::string& what) const {
  throw Error(kind_of(rc), "database " + db_name_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (const int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) fail(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (const int rc = sqlite3_bind_double(stmt_, index, value); rc != SQLITE_OK) fail(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  // A default string_view has no data pointer, which SQLite would bind as NULL.
  const int rc = sqlite3_bind_text(stmt_, index, value.data() ? value.data() : "",
                                   static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::span<const unsigned char> blob) {
  // An empty blob is a zero-length blob, not NULL.
  const int rc = blob.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                              : sqlite3_bind_blob(stmt_, index, blob.data(),
                                                  static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
  if (const int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail(rc, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_);
  sqlite3_reset(stmt_);
  fail(rc, "executing '" + sql.substr(0, 60) + "'");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::real(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
           : std::string();
}

std::vector<unsigned char> Statement::blob(int col) const {
  const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, col));
  return p ? std::vector<unsigned char>(p, p + sqlite3_column_bytes(stmt_, col))
           : std::vector<unsigned char>();
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
  return is_null(col) ? std::nullopt : std::optional(int64(col));
}
std::optional<double> Statement::opt_real(int col) const {
  return is_null(col) ? std::nullopt : std::optional(real(col));
}
std::optional<std::string> Statement::opt_text(int col) const {
  return is_null(col) ? std::nullopt : std::optional(text(col));
}

Db::Db(const std::filesystem::path& path, bool create) : name_(path.string()) {
  std::error_code ec;
  if (!create && !std::filesystem::exists(path, ec)) {
    throw Error(ErrorKind::kNotFound, "database " + name_ + ": no such file");
  }
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(name_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw Error(ErrorKind::kIo, "database " + name_ + ": cannot open: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  cache_.clear();  // statements first
  sqlite3_close(db_);
}

void Db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(ErrorKind::kIo, "database " + name_ + ": " + msg);
  }
}

Statement& Db::prepare(const std::string& sql) {
  auto& slot = cache_[sql];
  if (!slot) slot = std::make_unique<Statement>(db_, sql, name_);
  slot->reset();
  return *slot;
}

std::int64_t Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

Transaction::Transaction(Db& db, Mode mode) : db_(db) {
  db_.exec(mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // the connection is unusable; nothing more to do in a destructor
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace laneface::store::sqlite
