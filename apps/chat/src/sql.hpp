// A thin RAII layer over SQLite for the accounts: a connection, a prepared statement and an
// IMMEDIATE transaction, each of which throws sql::error instead of returning codes.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace duplex::chat::sql {

class error : public std::runtime_error {
 public:
  error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }  // extended result code
  bool unique_violation() const noexcept;
  // Any constraint: UNIQUE, CHECK, or a trigger's RAISE(ABORT).
  bool constraint_violation() const noexcept;

 private:
  int code_;
};

// One connection, used by one thread at a time (opened without SQLite's own mutex).
class connection {
 public:
  connection(const std::string& path, std::chrono::milliseconds busy_timeout);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void exec(const char* sql);
  std::int64_t last_insert_id() const noexcept;
  int changes() const noexcept;
  sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

class statement {
 public:
  statement(connection& c, const char* sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::string_view text);
  statement& bind(int i, std::int64_t v);
  statement& bind_blob(int i, std::string_view bytes);
  // True while there is a row to read, false once done.
  bool row();
  // Runs a statement that returns no row.
  void run();
  void reset();
  std::int64_t integer(int col) const;
  std::string text(int col) const;

 private:
  connection& c_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE: takes the write lock at once, so a read-then-write inside it cannot race
// with another connection (the chat's writer, or an operator's command in another process).
class transaction {
 public:
  explicit transaction(connection& c);
  ~transaction();  // rolls back unless committed
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit();

 private:
  connection& c_;
  bool open_ = true;
};

}  // namespace duplex::chat::sql
