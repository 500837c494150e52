// How long PostgreSQL keeps history: messages and events older than their feed's keep_days (or
// the node's default) are deleted in bounded batches, on a connection of their own.
#pragma once

#include <cstdint>
#include <functional>

#include "pg_link.hpp"

namespace duplex::chat {

// Loop thread only. A feed's `keep_days` column (schema step 5) overrides the default: NULL
// takes it, 0 keeps the feed for ever. Ids are never reused: the counter row stays, and a
// client that asks for a pruned range is told what exists (store::range is authoritative).
// Several nodes may prune at once: each batch deletes what is still there.
class pg_retention {
 public:
  // `default_days` 0: feeds without keep_days are kept for ever.
  pg_retention(net::event_loop& loop, pg_options opts, int default_days);
  void start() { db_.start(); }
  bool connected() const noexcept { return db_.connected(); }

  // Deletes batch after batch (each one statement, at most max_batch rows) until one comes back
  // short; done(ok, rows removed). A pass already running answers (true, 0) at once.
  void prune(std::int64_t now_ms, std::function<void(bool ok, std::int64_t removed)> done);

  static constexpr std::int64_t max_batch = 5'000;

 private:
  void next_batch(std::int64_t now_ms, std::int64_t removed,
                  std::function<void(bool, std::int64_t)> done);

  pg_link db_;
  int default_days_;
  bool running_ = false;
};

}  // namespace duplex::chat
