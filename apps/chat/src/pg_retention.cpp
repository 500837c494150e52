#include "pg_retention.hpp"

#include <string>
#include <utility>

namespace duplex::chat {
namespace {

// One batch: the oldest rows past their feed's horizon (messages_age serves the scan), their
// reactions with them, and the uploads no other message carries (their chunks follow by the
// foreign key). The statement's snapshot still shows the batch's rows, so "another message" is
// one outside the batch. $1 now in ms, $2 the default days, $3 the batch size.
constexpr const char* prune_sql =
    "WITH doomed AS ("
    "  SELECT m.feed, m.id FROM messages m JOIN feeds f ON f.feed = m.feed"
    "  WHERE COALESCE(f.keep_days, $2::integer) > 0"
    "    AND m.ts_ms < $1::bigint - COALESCE(f.keep_days, $2::integer)::bigint * 86400000"
    "  ORDER BY m.ts_ms LIMIT $3::integer),"
    " gone AS (DELETE FROM messages m USING doomed d WHERE m.feed = d.feed AND m.id = d.id"
    "  RETURNING m.feed, m.id, m.file),"
    " unreacted AS (DELETE FROM reactions r USING gone g WHERE r.feed = g.feed AND r.id = g.id),"
    " unfiled AS (DELETE FROM uploads u USING gone g WHERE g.file <> ''"
    "  AND u.id = g.file::jsonb ->> 'id' AND NOT EXISTS (SELECT 1 FROM messages k"
    "   WHERE k.file <> '' AND k.file::jsonb ->> 'id' = u.id"
    "   AND NOT EXISTS (SELECT 1 FROM gone o WHERE o.feed = k.feed AND o.id = k.id)))"
    " SELECT count(*) FROM gone";

}  // namespace

pg_retention::pg_retention(net::event_loop& loop, pg_options opts, int default_days)
    : db_(loop, std::move(opts)), default_days_(default_days) {}

void pg_retention::prune(std::int64_t now_ms, std::function<void(bool, std::int64_t)> done) {
  if (running_) return done(true, 0);
  running_ = true;
  // Without a horizon anywhere (the default), no batch is needed: the batch's scan could not
  // stop early and would walk the whole age index for nothing.
  db_.query("SELECT 1 FROM feeds WHERE COALESCE(keep_days, $1::integer) > 0 LIMIT 1",
            {std::to_string(default_days_)},
            [this, now_ms, done = std::move(done)](const pg_reply& r) mutable {
              if (r.ok() && r.rows() > 0) return next_batch(now_ms, 0, std::move(done));
              running_ = false;
              done(r.ok(), 0);
            });
}

void pg_retention::next_batch(std::int64_t now_ms, std::int64_t removed,
                              std::function<void(bool, std::int64_t)> done) {
  db_.query(prune_sql,
            {std::to_string(now_ms), std::to_string(default_days_), std::to_string(max_batch)},
            [this, now_ms, removed, done = std::move(done)](const pg_reply& r) mutable {
              const std::int64_t n = r.ok() ? r.integer(0, 0) : 0;
              if (r.ok() && n == max_batch) return next_batch(now_ms, removed + n, std::move(done));
              running_ = false;
              done(r.ok(), removed + n);
            });
}

}  // namespace duplex::chat
