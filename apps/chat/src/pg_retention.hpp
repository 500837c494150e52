// How long PostgreSQL keeps history: messages and events older than their feed's keep_days (or
// the node's default) are deleted in bounded batches, feed by feed, on a connection of their
// own, by one node at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "pg_link.hpp"

namespace duplex::chat {

// Loop thread only. A feed's `keep_days` column (schema step 5) overrides the default: NULL
// takes it, 0 keeps the feed for ever. Ids are never reused: the counter row stays, and a
// client that asks for a pruned range is told what exists (store::range is authoritative).
//
// Every node runs passes, but a pass first takes PostgreSQL's advisory lock `lock_key` (held by
// its session, so a node that dies lets it go): while one node prunes, the others' passes are
// skipped. A pass lists, page by page, the feeds whose oldest message (one probe of the primary
// key each) is past the horizon, then deletes each feed's oldest messages in id order, a batch
// of at most max_batch rows per statement, until it reaches one young enough to stay. Ids grow
// with time in a feed, so this walks only what it deletes; a message older than one that came
// before it (clocks of nodes apart) waits for that one's horizon.
class pg_retention {
 public:
  // `default_days` 0: feeds without keep_days are kept for ever.
  pg_retention(net::event_loop& loop, pg_options opts, int default_days);
  void start() { db_.start(); }
  bool connected() const noexcept { return db_.connected(); }

  // One pass; done(ok, rows removed). A pass already running here, or holding the lock
  // elsewhere, answers (true, 0) (see skipped()).
  void prune(std::int64_t now_ms, std::function<void(bool ok, std::int64_t removed)> done);

  // Passes skipped because another connection held the lock.
  std::uint64_t skipped() const noexcept { return skipped_; }

  static constexpr std::int64_t max_batch = 5'000;
  static constexpr std::int64_t feeds_per_page = 1'000;
  static constexpr std::int64_t lock_key = 0x6475706c6578;  // "duplex"

 private:
  struct pass;
  void next_page(std::shared_ptr<pass> p);
  void next_feed(std::shared_ptr<pass> p);
  void finish(std::shared_ptr<pass> p, bool ok);

  pg_link db_;
  int default_days_;
  bool running_ = false;
  std::uint64_t skipped_ = 0;
};

}  // namespace duplex::chat
