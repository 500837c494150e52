#include "pg_link.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace duplex::chat {

namespace {
// libpq's messages span lines (with tabs); a log line and an error reply want one.
std::string one_line(std::string_view m) {
  std::string out;
  for (const char ch : m) {
    const bool space = ch == '\n' || ch == '\t' || ch == '\r' || ch == ' ';
    if (!space)
      out += ch;
    else if (!out.empty() && out.back() != ' ')
      out += ' ';
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}
std::string message_of(const PGconn* c, std::string_view fallback) {
  std::string m = one_line(c != nullptr ? PQerrorMessage(c) : "");
  return m.empty() ? std::string(fallback) : m;
}
}  // namespace

pg_conn* pg_connect_start(const std::string& conninfo) {
  // Ours first: a setting the connection string makes (expanded last) wins.
  const char* keys[] = {"keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname",          nullptr};
  const char* values[] = {"1", "10", "5", "3", conninfo.c_str(), nullptr};
  return PQconnectStartParams(keys, values, 1);
}

// ----- pg_reply

pg_reply pg_reply::failure(std::string why) {
  pg_reply r;
  r.error_ = why.empty() ? std::string("PostgreSQL failed") : std::move(why);
  return r;
}

pg_reply::pg_reply(pg_result* r) : result_(r, PQclear) {
  const auto st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
  error_ = one_line(PQresultErrorMessage(r));
  if (error_.empty()) error_ = PQresStatus(st);
}

int pg_reply::rows() const noexcept {
  return result_ ? PQntuples(result_.get()) : 0;
}

bool pg_reply::is_null(int row, int col) const noexcept {
  return !result_ || row >= rows() || col >= PQnfields(result_.get()) ||
         PQgetisnull(result_.get(), row, col) != 0;
}

std::string_view pg_reply::text(int row, int col) const noexcept {
  if (is_null(row, col)) return {};
  return {PQgetvalue(result_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::int64_t pg_reply::integer(int row, int col) const noexcept {
  const auto s = text(row, col);
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::int64_t pg_reply::affected() const noexcept {
  if (!result_) return 0;
  const std::string_view s = PQcmdTuples(result_.get());
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// ----- pg_link

pg_link::pg_link(net::event_loop& loop, pg_options opts)
    : loop_(loop), opts_(std::move(opts)), backoff_(opts_.min_backoff) {}

pg_link::~pg_link() {
  stopping_ = true;
  if (retry_ != 0) loop_.cancel_timer(retry_);
  if (watchdog_ != 0) loop_.cancel_timer(watchdog_);
  watch(net::io_events::none);
  if (partial_ != nullptr) PQclear(partial_);
  if (conn_ != nullptr) PQfinish(conn_);
}

void pg_link::start() {
  if (watchdog_ == 0) {
    const auto period = std::clamp(opts_.answer_timeout / 4, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(1000));
    watchdog_ = loop_.add_timer(
        period, [this] { check_deadline(); }, true);
  }
  if (state_ == state::idle && retry_ == 0) connect();
}

void pg_link::check_deadline() {
  if (deadline_ms_ == 0 || loop_.now_ms() < deadline_ms_) return;
  lost(state_ == state::connecting
           ? "no answer to the connection attempt in " +
                 std::to_string(opts_.answer_timeout.count()) + " ms"
           : "no answer in " + std::to_string(opts_.answer_timeout.count()) + " ms");
}

void pg_link::connect() {
  conn_ = pg_connect_start(opts_.conninfo);
  if (conn_ == nullptr) return lost("out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD || PQsocket(conn_) < 0)
    return lost(message_of(conn_, "cannot connect"));
  // libpq's rule: the first PQconnectPoll waits for the socket to be writable (the TCP
  // connect finished, or failed).
  state_ = state::connecting;
  deadline_ms_ = loop_.now_ms() + static_cast<std::uint64_t>(opts_.answer_timeout.count());
  fd_ = PQsocket(conn_);
  watch(net::io_events::writable);
}

// One step of the connection handshake. libpq may switch sockets between steps (another
// address of the host), so the descriptor is registered afresh each time.
void pg_link::poll_connect() {
  const auto step = PQconnectPoll(conn_);
  watch(net::io_events::none);
  fd_ = PQsocket(conn_);
  switch (step) {
    case PGRES_POLLING_READING:
      return watch(net::io_events::readable);
    case PGRES_POLLING_WRITING:
      return watch(net::io_events::writable);
    case PGRES_POLLING_OK:
      break;
    default:
      return lost(message_of(conn_, "connection failed"));
  }
  if (PQsetnonblocking(conn_, 1) != 0) return lost(message_of(conn_, "cannot set nonblocking"));
  state_ = state::ready;
  ++connections_;
  deadline_ms_ = 0;
  backoff_ = opts_.min_backoff;
  watch(net::io_events::readable);
  if (on_state) on_state(true);
  send_next();
}

// Forgets the connection, fails what was asked of it, and tries again after a growing delay.
void pg_link::lost(std::string why) {
  const bool was_up = state_ == state::ready;
  last_error_ = std::move(why);
  watch(net::io_events::none);
  fd_ = -1;
  if (partial_ != nullptr) PQclear(partial_);
  partial_ = nullptr;
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  state_ = state::idle;
  deadline_ms_ = 0;
  std::deque<pending> failed;
  failed.swap(queue_);
  const bool was_busy = busy_;
  busy_ = false;
  for (std::size_t i = 0; i < failed.size(); ++i) {
    const bool in_flight = i == 0 && was_busy;
    answer(failed[i].done,
           pg_reply::failure("PostgreSQL connection lost (" + last_error_ + "); the statement " +
                             (in_flight ? "may have been applied" : "was not sent")));
  }
  if (stopping_) return;
  if (was_up && on_state) on_state(false);
  if (retry_ != 0 || state_ != state::idle) return;  // a callback may have reconnected already
  retry_ = loop_.add_timer(backoff_, [this] {
    retry_ = 0;
    connect();
  });
  backoff_ = std::min(backoff_ * 2, opts_.max_backoff);
}

void pg_link::query(std::string sql, std::vector<std::string> params, reply_fn done) {
  if (state_ != state::ready) {
    const std::string why = last_error_.empty() ? "not connected yet" : last_error_;
    return answer(done, pg_reply::failure("PostgreSQL unavailable: " + why));
  }
  if (queue_.size() >= opts_.max_queued)
    return answer(done,
                  pg_reply::failure("PostgreSQL too slow: " + std::to_string(opts_.max_queued) +
                                    " statements already queued"));
  // Text parameters travel as C strings: a NUL would cut the value short, silently.
  for (const auto& p : params)
    if (p.find('\0') != std::string::npos)
      return answer(done, pg_reply::failure("a parameter holds a NUL byte"));
  queue_.push_back({std::move(sql), std::move(params), std::move(done)});
  if (!busy_) send_next();
}

void pg_link::send_next() {
  if (state_ != state::ready || busy_ || queue_.empty()) return;
  const pending& p = queue_.front();
  std::vector<const char*> values;
  for (const auto& v : p.params)
    values.push_back(v.c_str());
  if (PQsendQueryParams(conn_, p.sql.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0) == 0) {
    // The connection is broken (a statement libpq refused outright still answers through
    // PQgetResult): nothing was sent.
    return lost(message_of(conn_, "cannot send"));
  }
  busy_ = true;
  deadline_ms_ = loop_.now_ms() + static_cast<std::uint64_t>(opts_.answer_timeout.count());
  flush();
}

void pg_link::flush() {
  const int r = PQflush(conn_);
  if (r < 0) return lost(message_of(conn_, "cannot write"));
  watch(r == 1 ? net::io_events::readable | net::io_events::writable : net::io_events::readable);
}

void pg_link::on_io(net::io_events events) {
  if (state_ == state::connecting) return poll_connect();
  if (state_ != state::ready) return;
  if (has(events, net::io_events::writable)) {
    flush();
    if (state_ != state::ready) return;
  }
  if (net::read_ready(events)) read_results();
}

// Everything the server sent: results of the statement in flight, and notices of a closed
// connection (an idle one too: the server going away must be noticed before the next send).
void pg_link::read_results() {
  if (PQconsumeInput(conn_) == 0) return lost(message_of(conn_, "connection closed"));
  while (PGnotify* n = PQnotifies(conn_))
    PQfreemem(n);
  while (state_ == state::ready && busy_ && PQisBusy(conn_) == 0) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      // The statement is complete: its answer is the first error or else the last result.
      pg_result* whole = partial_;
      partial_ = nullptr;
      finish_one(whole != nullptr ? pg_reply(whole) : pg_reply::failure("no result"));
      continue;
    }
    const bool failed =
        PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK;
    if (partial_ == nullptr || (failed && PQresultStatus(partial_) != PGRES_FATAL_ERROR)) {
      if (partial_ != nullptr) PQclear(partial_);
      partial_ = r;
    } else {
      PQclear(r);
    }
  }
  if (state_ == state::ready && PQstatus(conn_) == CONNECTION_BAD)
    lost(message_of(conn_, "connection closed"));
}

void pg_link::finish_one(pg_reply r) {
  pending p = std::move(queue_.front());
  queue_.pop_front();
  busy_ = false;
  deadline_ms_ = 0;
  answer(p.done, r);
  send_next();
}

// libpq is C and the loop must go on: an exception from a callback is reported to the loop as
// if it had escaped there, and the link carries on with the next statement.
void pg_link::answer(reply_fn& fn, const pg_reply& r) noexcept {
  if (!fn || stopping_) return;
  try {
    fn(r);
  } catch (...) {
    loop_.report_exception(std::current_exception());
  }
}

void pg_link::watch(net::io_events events) {
  if (events == events_ && events != net::io_events::none) return;
  if (events_ != net::io_events::none && fd_ >= 0 && events == net::io_events::none) {
    loop_.remove(fd_);
  } else if (events_ == net::io_events::none && events != net::io_events::none && fd_ >= 0) {
    loop_.add(fd_, events, this);
  } else if (events != net::io_events::none && fd_ >= 0) {
    loop_.modify(fd_, events, this);
  }
  events_ = fd_ >= 0 ? events : net::io_events::none;
}

}  // namespace duplex::chat
