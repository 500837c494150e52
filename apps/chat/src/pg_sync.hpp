// A blocking PostgreSQL connection whose every wait is bounded (connecting, sending, answering)
// and that fails fast for a while after a failure (a breaker with backoff), so that a thread that
// must not stall long (the event loop's account reads) can use it; it reconnects by itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace duplex::chat {

struct pg_sync_options {
  std::string conninfo;  // a libpq connection string or postgresql:// URL
  std::chrono::milliseconds connect_timeout{500};
  // A statement unanswered by then ends the connection (and the server is told the same bound
  // as its statement_timeout, so it stops working on it too).
  std::chrono::milliseconds answer_timeout{200};
  // After a failure, calls fail at once until this much has passed; doubled at each failure in
  // a row, up to max_backoff, back to min_backoff on success.
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{4000};
  std::vector<std::string> listen;  // channels to LISTEN on after each connection
  // Notifications this connection's own statements caused are dropped: the caller knows.
  bool ignore_own = false;
  // A connection that only listens hears nothing from a server that died silently (restarted
  // behind a NAT, paused, cut off): notices() sends a cheap statement when none was answered for
  // this long (0: never), so that a dead connection fails within answer_timeout and the next
  // call reconnects, which counts as a change (what was sent meanwhile may be lost).
  std::chrono::milliseconds probe_idle{0};
};

class pg_error : public std::runtime_error {
 public:
  pg_error(const std::string& what, std::string sqlstate)
      : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  bool unique_violation() const noexcept { return sqlstate_ == "23505"; }

 private:
  std::string sqlstate_;  // empty: the connection, not the statement, failed
};

// The rows of one statement, as text.
class pg_rows {
 public:
  explicit pg_rows(pg_result* r);  // takes ownership
  int rows() const noexcept;
  std::string text(int row, int col) const;
  std::int64_t integer(int row, int col) const noexcept;  // 0 when null or not a number
  bool is_null(int row, int col) const noexcept;
  // The value's bytes as they came: a bytea column's content when the rows were asked for in
  // binary (pg_sync::exec_raw); valid while this object (or a copy) lives.
  std::string_view bytes(int row, int col) const noexcept;
  std::int64_t affected() const noexcept;  // rows an INSERT, UPDATE or DELETE touched

 private:
  std::shared_ptr<pg_result> result_;
};

// One thread at a time.
class pg_sync {
 public:
  explicit pg_sync(pg_sync_options opts);
  ~pg_sync();
  pg_sync(const pg_sync&) = delete;
  pg_sync& operator=(const pg_sync&) = delete;

  // Runs one statement ($1, $2... are `params`, as text). Connects first when needed. Throws
  // pg_error: the statement's error (with its SQLSTATE), or a lost, slow or refused connection.
  pg_rows exec(std::string_view sql, const std::vector<std::string>& params = {});
  // As exec, for bytes that should not go through hex: a parameter marked `binary` is sent as
  // its raw bytes (a bytea), and with `binary_rows` every column comes back raw (read bytea
  // columns only then, with pg_rows::bytes).
  struct param {
    std::string_view value;
    bool binary = false;
  };
  pg_rows exec_raw(std::string_view sql, const std::vector<param>& params, bool binary_rows);
  // What arrived on the LISTENed channels since the last call: `any` when a notification did or
  // the connection is new (what was sent before it may have been missed); `complete` when
  // `payloads` holds every notification since (no new connection, none past
  // max_kept_notices). Reads only what has arrived; connects first when needed. Throws
  // pg_error when it cannot say.
  struct notices_t {
    bool any = false;
    bool complete = false;
    std::vector<std::string> payloads;
  };
  notices_t notices();
  bool notified() { return notices().any; }
  static constexpr std::size_t max_kept_notices = 10'000;
  bool connected() const noexcept { return conn_ != nullptr; }

 private:
  void ensure_connected();
  bool ended_while_idle();
  void connect();
  [[noreturn]] void fail(const std::string& why);
  void wait(short events, std::chrono::steady_clock::time_point deadline, const char* what);
  pg_result* read_answer(std::chrono::steady_clock::time_point deadline);
  // Frees the notifications libpq has read, keeping their payloads up to max_kept_notices: they
  // arrive with any answer, and a list nobody reads for a while must not grow.
  void drain_notifications();

  pg_sync_options opts_;
  pg_conn* conn_ = nullptr;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point answered_at_{};  // the last answer read
  std::string last_error_;
  bool fresh_ = false;     // connected since the last notified()
  bool notified_ = false;  // a notification arrived since the last notified()
  bool overflow_ = false;  // ... more than max_kept_notices of them
  std::vector<std::string> payloads_;
};

// BEGIN now; ROLLBACK when destroyed without commit() (nothing thrown from there).
class pg_transaction {
 public:
  explicit pg_transaction(pg_sync& db) : db_(db) { db_.exec("BEGIN"); }
  ~pg_transaction();
  pg_transaction(const pg_transaction&) = delete;
  pg_transaction& operator=(const pg_transaction&) = delete;
  void commit() {
    db_.exec("COMMIT");
    open_ = false;
  }

 private:
  pg_sync& db_;
  bool open_ = true;
};

}  // namespace duplex::chat
