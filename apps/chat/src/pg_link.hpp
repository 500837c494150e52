// One PostgreSQL connection driven by a duplex event loop through libpq's asynchronous API: a
// bounded queue of parameterized statements with callbacks, and reconnection with backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/net/event_loop.hpp"

struct pg_conn;
struct pg_result;

namespace duplex::chat {

struct pg_options {
  std::string conninfo;  // a libpq connection string or postgresql:// URL
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  std::size_t max_queued = 10'000;  // statements waiting or in flight; more are refused
  // A connection attempt or a statement taking longer ends the connection (a hung server, a
  // dead peer without a reset), which fails what waits and reconnects.
  std::chrono::milliseconds answer_timeout{10'000};
};

// The answer to one statement: rows (text format), or the reason it failed.
class pg_reply {
 public:
  static pg_reply failure(std::string why);
  explicit pg_reply(pg_result* r);  // takes ownership

  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  int rows() const noexcept;
  std::string_view text(int row, int col) const noexcept;
  bool is_null(int row, int col) const noexcept;
  // A column as an integer; 0 when null or not a number (nothing here throws).
  std::int64_t integer(int row, int col) const noexcept;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const noexcept;

 private:
  pg_reply() = default;
  std::shared_ptr<pg_result> result_;
  std::string error_;
};

// Loop thread only. Statements run one at a time, in the order given, on one connection.
// A statement or connection attempt unanswered for answer_timeout ends the connection.
// While disconnected, or with max_queued statements already waiting, query() answers at once
// with an error. A lost connection fails the statement in flight ("may have been applied") and
// every waiting one ("not sent"): nothing is retried behind the caller's back.
class pg_link final : public net::io_handler {
 public:
  using reply_fn = std::function<void(const pg_reply&)>;

  pg_link(net::event_loop& loop, pg_options opts);
  ~pg_link();  // owed callbacks are dropped without a call
  pg_link(const pg_link&) = delete;
  pg_link& operator=(const pg_link&) = delete;

  // Starts connecting; reconnects by itself from then on.
  void start();
  bool connected() const noexcept { return state_ == state::ready; }
  // Connections made again after the first one (for the node's metrics).
  std::uint64_t reconnects() const noexcept { return connections_ > 0 ? connections_ - 1 : 0; }
  std::size_t queued() const noexcept { return queue_.size(); }
  // $1, $2... in `sql` are `params`, as text. The callback runs on the loop's thread, possibly
  // before query() returns (a refusal).
  void query(std::string sql, std::vector<std::string> params, reply_fn done);

  // Called with true on every (re)connection and false on every loss.
  std::function<void(bool up)> on_state;
  // The last reason a connection failed or was lost (for logs and errors).
  const std::string& last_error() const noexcept { return last_error_; }

  void on_io(net::io_events events) override;

 private:
  enum class state { idle, connecting, ready };
  struct pending {
    std::string sql;
    std::vector<std::string> params;
    reply_fn done;
  };

  void connect();
  void poll_connect();
  void lost(std::string why);
  void send_next();
  void flush();
  void read_results();
  void finish_one(pg_reply r);
  void watch(net::io_events events);
  void answer(reply_fn& fn, const pg_reply& r) noexcept;
  void check_deadline();

  net::event_loop& loop_;
  pg_options opts_;
  pg_conn* conn_ = nullptr;
  state state_ = state::idle;
  int fd_ = -1;
  net::io_events events_ = net::io_events::none;
  bool busy_ = false;  // the front of queue_ has been sent and not answered yet
  bool stopping_ = false;
  std::deque<pending> queue_;
  pg_result* partial_ = nullptr;  // the first (or error) result of the statement in flight
  std::chrono::milliseconds backoff_;
  net::timer_id retry_ = 0;
  net::timer_id watchdog_ = 0;
  std::uint64_t deadline_ms_ = 0;  // of the connection attempt or statement under way; 0: none
  std::string last_error_;
  std::uint64_t connections_ = 0;
};

// PQconnectStart with TCP keepalives on (10 s idle, then a probe every 5 s, 3 lost: dead), so
// that the kernel finds a silently dead connection even when it is idle; the connection
// string's own keepalives settings win.
pg_conn* pg_connect_start(const std::string& conninfo);

}  // namespace duplex::chat
