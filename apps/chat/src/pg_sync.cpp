#include "pg_sync.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "pg_link.hpp"

namespace duplex::chat {
namespace {

using clock = std::chrono::steady_clock;

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

}  // namespace

pg_rows::pg_rows(pg_result* r) : result_(r, PQclear) {}

int pg_rows::rows() const noexcept {
  return PQntuples(result_.get());
}

std::string pg_rows::text(int row, int col) const {
  return PQgetvalue(result_.get(), row, col);
}

std::int64_t pg_rows::integer(int row, int col) const noexcept {
  if (row >= rows() || is_null(row, col)) return 0;
  return std::strtoll(PQgetvalue(result_.get(), row, col), nullptr, 10);
}

bool pg_rows::is_null(int row, int col) const noexcept {
  return PQgetisnull(result_.get(), row, col) != 0;
}

std::string_view pg_rows::bytes(int row, int col) const noexcept {
  return {PQgetvalue(result_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::int64_t pg_rows::affected() const noexcept {
  return std::strtoll(PQcmdTuples(result_.get()), nullptr, 10);
}

pg_sync::pg_sync(pg_sync_options opts) : opts_(std::move(opts)), backoff_(opts_.min_backoff) {}

pg_sync::~pg_sync() {
  if (conn_) PQfinish(conn_);
}

void pg_sync::fail(const std::string& why) {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  last_error_ = why;
  retry_at_ = clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, opts_.max_backoff);
  throw pg_error("PostgreSQL: " + why, {});
}

void pg_sync::wait(short events, clock::time_point deadline, const char* what) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      fail(std::string(what) + " took longer than its bound; the connection is dropped");
    pollfd p{PQsocket(conn_), events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (n > 0) return;
    if (n < 0 && errno != EINTR) fail("poll failed");
  }
}

void pg_sync::connect() {
  const auto deadline = clock::now() + opts_.connect_timeout;
  conn_ = pg_connect_start(opts_.conninfo);
  if (!conn_) fail("out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) fail(trimmed(PQerrorMessage(conn_)));
  for (auto st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK; st = PQconnectPoll(conn_)) {
    if (st == PGRES_POLLING_FAILED) fail(trimmed(PQerrorMessage(conn_)));
    wait(st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline, "connecting");
  }
  if (PQsetnonblocking(conn_, 1) != 0) fail("cannot make the connection non-blocking");
  // The server gives up on a statement a quarter before this side does, so that a slow one is
  // answered with its error on a connection that stays, rather than cut with the connection
  // (which would mean a reconnection, and a re-check of what its notices may have missed). A
  // connection whose set-up failed (LISTEN on a hot standby, say) is dropped, not kept without
  // its LISTEN.
  try {
    const auto server_bound = std::max<long long>(1, opts_.answer_timeout.count() * 3 / 4);
    exec("SET statement_timeout = " + std::to_string(server_bound));
    for (const auto& channel : opts_.listen)
      exec("LISTEN " + channel);
  } catch (const pg_error& e) {
    if (conn_) fail(e.what());
    throw;
  }
  backoff_ = opts_.min_backoff;
  answered_at_ = clock::now();
  fresh_ = true;
}

// An idle connection has nothing to read unless a notification came, or the server ended it
// (a restart, an administrator): then it is dropped here, with no failure counted, rather than
// failing the statement it would have been given. Such a server sends a notice before it
// closes: what is there is read until nothing is or the end shows (a few reads at most; a
// flood of notifications is left for the statement).
bool pg_sync::ended_while_idle() {
  for (int reads = 0; reads < 8; ++reads) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) == CONNECTION_BAD) return true;
  }
  return false;
}

void pg_sync::ensure_connected() {
  if (conn_) {
    // Known before reading: once the end is read, libpq no longer knows.
    const bool mid_transaction = PQtransactionStatus(conn_) != PQTRANS_IDLE;
    if (ended_while_idle()) {
      // The transaction's work is gone with its server: going on, in autocommit, on a new
      // connection would commit only its remaining statements.
      if (mid_transaction) fail("the connection ended inside a transaction");
      PQfinish(conn_);
      conn_ = nullptr;
      retry_at_ = {};
    }
  }
  if (conn_) return;
  if (clock::now() < retry_at_)
    throw pg_error("PostgreSQL unavailable (" + last_error_ + "); retrying shortly", {});
  connect();
}

pg_result* pg_sync::read_answer(clock::time_point deadline) {
  pg_result* first = nullptr;  // the statement's result, or its error
  for (;;) {
    if (PQconsumeInput(conn_) == 0) {
      if (first) PQclear(first);
      fail(trimmed(PQerrorMessage(conn_)));
    }
    while (PQisBusy(conn_) == 0) {
      pg_result* r = PQgetResult(conn_);
      if (!r) {
        drain_notifications();
        return first;
      }
      if (first)
        PQclear(r);
      else
        first = r;
    }
    wait(POLLIN, deadline, "a statement");
  }
}

pg_rows pg_sync::exec(std::string_view sql, const std::vector<std::string>& params) {
  std::vector<param> views;
  views.reserve(params.size());
  for (const auto& p : params)
    views.push_back({p, false});
  return exec_raw(sql, views, false);
}

pg_rows pg_sync::exec_raw(std::string_view sql, const std::vector<param>& params,
                          bool binary_rows) {
  ensure_connected();
  const auto deadline = clock::now() + opts_.answer_timeout;
  // Text values must end with a NUL for libpq; binary ones go by their length.
  std::vector<std::string> texts;
  texts.reserve(params.size());
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const auto& p : params) {
    if (p.binary) {
      values.push_back(p.value.data());
    } else {
      texts.emplace_back(p.value);
      values.push_back(texts.back().c_str());
    }
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  const std::string text(sql);
  if (PQsendQueryParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), lengths.data(), formats.data(), binary_rows ? 1 : 0) == 0)
    fail(trimmed(PQerrorMessage(conn_)));
  for (int f = PQflush(conn_); f != 0; f = PQflush(conn_)) {
    if (f < 0) fail(trimmed(PQerrorMessage(conn_)));
    wait(POLLOUT | POLLIN, deadline, "sending a statement");
    // libpq wants input read when the socket is readable, or the flush cannot go on.
    if (PQconsumeInput(conn_) == 0) fail(trimmed(PQerrorMessage(conn_)));
  }
  pg_result* r = read_answer(deadline);
  if (!r) fail("no answer");
  answered_at_ = clock::now();
  const auto st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return pg_rows(r);
  const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  pg_error e("PostgreSQL: " + trimmed(PQresultErrorMessage(r)), code ? code : "");
  PQclear(r);
  if (PQstatus(conn_) == CONNECTION_BAD || e.sqlstate().empty()) fail(e.what());
  throw e;
}

void pg_sync::drain_notifications() {
  while (PGnotify* n = PQnotifies(conn_)) {
    if (opts_.ignore_own && n->be_pid == PQbackendPID(conn_)) {
      PQfreemem(n);
      continue;
    }
    notified_ = true;
    if (payloads_.size() < max_kept_notices)
      payloads_.emplace_back(n->extra != nullptr ? n->extra : "");
    else
      overflow_ = true;
    PQfreemem(n);
  }
}

pg_sync::notices_t pg_sync::notices() {
  ensure_connected();
  if (opts_.probe_idle.count() > 0 && clock::now() - answered_at_ >= opts_.probe_idle)
    exec("SELECT 1");  // throws, and drops the connection, when the server is gone
  if (PQconsumeInput(conn_) == 0) fail(trimmed(PQerrorMessage(conn_)));
  drain_notifications();
  notices_t out{fresh_ || notified_, !fresh_ && !overflow_, std::move(payloads_)};
  payloads_.clear();
  fresh_ = notified_ = overflow_ = false;
  return out;
}

pg_transaction::~pg_transaction() {
  if (!open_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (const std::exception&) {
    // A lost connection rolled it back already.
  }
}

}  // namespace duplex::chat
