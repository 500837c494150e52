// Search in PostgreSQL (--pg): full-text over the words column of messages (schema version 2),
// on a connection of its own so that a search never waits behind the history's statements.
#pragma once

#include <chrono>

#include "pg_link.hpp"
#include "search.hpp"

namespace duplex::chat {

// Loop thread only. Words match whole (PostgreSQL's plainto_tsquery, 'simple' configuration):
// no prefix, unlike SQLite's index.
class pg_search final : public message_search {
 public:
  // A search running longer than `budget` is cancelled by the server (statement_timeout).
  pg_search(net::event_loop& loop, pg_options opts,
            std::chrono::milliseconds budget = std::chrono::milliseconds(250));
  void start() { db_.start(); }
  bool connected() const noexcept { return db_.connected() && ready_; }

  void find(search_request r,
            std::function<void(search_status, std::vector<search_hit>)> done) override;

  // Searches waiting for the connection; more are answered search_status::busy.
  static constexpr std::size_t max_waiting = 32;

 private:
  pg_link db_;
  std::chrono::milliseconds budget_;
  bool ready_ = false;  // the connection has its statement_timeout
};

}  // namespace duplex::chat
