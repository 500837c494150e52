#include "sql.hpp"

#include <sqlite3.h>

namespace duplex::chat::sql {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& context) {
  throw error(sqlite3_extended_errcode(db), context + ": " + sqlite3_errmsg(db));
}

}  // namespace

bool error::constraint_violation() const noexcept {
  return (code_ & 0xff) == SQLITE_CONSTRAINT;
}

bool error::unique_violation() const noexcept {
  return code_ == SQLITE_CONSTRAINT_UNIQUE || code_ == SQLITE_CONSTRAINT_PRIMARYKEY;
}

connection::connection(const std::string& path, std::chrono::milliseconds busy_timeout) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw error(SQLITE_CANTOPEN, "cannot open " + path + ": " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
}

connection::~connection() {
  sqlite3_close_v2(db_);
}

void connection::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    const std::string why = msg ? msg : "?";
    sqlite3_free(msg);
    throw error(sqlite3_extended_errcode(db_), "sqlite: " + why);
  }
}

std::int64_t connection::last_insert_id() const noexcept {
  return sqlite3_last_insert_rowid(db_);
}

int connection::changes() const noexcept {
  return sqlite3_changes(db_);
}

statement::statement(connection& c, const char* sql) : c_(c) {
  if (sqlite3_prepare_v2(c.handle(), sql, -1, &s_, nullptr) != SQLITE_OK)
    fail(c.handle(), "sqlite prepare");
}

statement::~statement() {
  sqlite3_finalize(s_);
}

statement& statement::bind(int i, std::string_view text) {
  sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

statement& statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}

statement& statement::bind_blob(int i, std::string_view bytes) {
  sqlite3_bind_blob(s_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

bool statement::row() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(c_.handle(), "sqlite step");
}

void statement::run() {
  while (row()) {
  }
}

void statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::int64_t statement::integer(int col) const {
  return sqlite3_column_int64(s_, col);
}

std::string statement::text(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

transaction::transaction(connection& c) : c_(c) {
  c_.exec("BEGIN IMMEDIATE");
}

transaction::~transaction() {
  if (open_) sqlite3_exec(c_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  c_.exec("COMMIT");
  open_ = false;
}

}  // namespace duplex::chat::sql
