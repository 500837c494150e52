#include "pg_retention.hpp"

#include <string>
#include <utility>
#include <vector>

namespace duplex::chat {
namespace {

// A page of feeds with something past their horizon: $1 now in ms, $2 the default days, $3 the
// last feed of the previous page, $4 the page size. The oldest message of each is one probe of
// the primary key (feed, id).
constexpr const char* due_sql =
    "SELECT f.feed, $1::bigint - COALESCE(f.keep_days, $2::integer)::bigint * 86400000"
    " FROM feeds f WHERE COALESCE(f.keep_days, $2::integer) > 0 AND f.feed > $3"
    "  AND (SELECT m.ts_ms FROM messages m WHERE m.feed = f.feed ORDER BY m.id LIMIT 1)"
    "   < $1::bigint - COALESCE(f.keep_days, $2::integer)::bigint * 86400000"
    " ORDER BY f.feed LIMIT $4::integer";

// One batch of one feed: its oldest rows in id order (a range of the primary key), up to the
// first one young enough to stay, their reactions with them, and the uploads no other message
// carries (their chunks follow by the foreign key). The statement's snapshot still shows the
// batch's rows, so "another message" is one outside the batch. $1 the feed, $2 the horizon in
// ms, $3 the batch size.
constexpr const char* batch_sql =
    "WITH head AS ("
    "  SELECT id, ts_ms FROM messages WHERE feed = $1 ORDER BY id LIMIT $3::integer),"
    " young AS (SELECT min(id) AS id FROM head WHERE ts_ms >= $2::bigint),"
    " gone AS (DELETE FROM messages m USING head h WHERE m.feed = $1 AND m.id = h.id"
    "  AND h.id < COALESCE((SELECT id FROM young), 9223372036854775807) RETURNING m.id, m.file),"
    " unreacted AS (DELETE FROM reactions r USING gone g WHERE r.feed = $1 AND r.id = g.id),"
    " unfiled AS (DELETE FROM uploads u USING gone g WHERE g.file <> ''"
    "  AND u.id = g.file::jsonb ->> 'id' AND NOT EXISTS (SELECT 1 FROM messages k"
    "   WHERE k.file <> '' AND k.file::jsonb ->> 'id' = u.id"
    "   AND NOT (k.feed = $1 AND EXISTS (SELECT 1 FROM gone o WHERE o.id = k.id))))"
    " SELECT count(*) FROM gone";

}  // namespace

struct pg_retention::pass {
  std::int64_t now_ms = 0;
  std::function<void(bool, std::int64_t)> done;
  std::int64_t removed = 0;
  std::string after;                                       // the last feed of the last page
  std::vector<std::pair<std::string, std::string>> feeds;  // this page's: (feed, horizon)
  std::size_t at = 0;                                      // into feeds
  bool last_page = false;
};

pg_retention::pg_retention(net::event_loop& loop, pg_options opts, int default_days)
    : db_(loop, std::move(opts)), default_days_(default_days) {}

void pg_retention::prune(std::int64_t now_ms, std::function<void(bool, std::int64_t)> done) {
  if (running_) return done(true, 0);
  running_ = true;
  auto p = std::make_shared<pass>();
  p->now_ms = now_ms;
  p->done = std::move(done);
  db_.query("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(lock_key)},
            [this, p](const pg_reply& r) {
              if (!r.ok()) {
                running_ = false;
                return p->done(false, 0);
              }
              if (r.text(0, 0) != "t") {
                ++skipped_;
                running_ = false;
                return p->done(true, 0);
              }
              next_page(p);
            });
}

void pg_retention::next_page(std::shared_ptr<pass> p) {
  if (p->last_page) return finish(p, true);
  db_.query(due_sql,
            {std::to_string(p->now_ms), std::to_string(default_days_), p->after,
             std::to_string(feeds_per_page)},
            [this, p](const pg_reply& r) {
              if (!r.ok()) return finish(p, false);
              p->feeds.clear();
              p->at = 0;
              for (int i = 0; i < r.rows(); ++i)
                p->feeds.emplace_back(std::string(r.text(i, 0)), std::string(r.text(i, 1)));
              p->last_page = r.rows() < feeds_per_page;
              if (!p->feeds.empty()) p->after = p->feeds.back().first;
              next_feed(p);
            });
}

void pg_retention::next_feed(std::shared_ptr<pass> p) {
  if (p->at >= p->feeds.size()) return next_page(p);
  const auto& [feed, horizon] = p->feeds[p->at];
  db_.query(batch_sql, {feed, horizon, std::to_string(max_batch)}, [this, p](const pg_reply& r) {
    if (!r.ok()) return finish(p, false);
    const std::int64_t n = r.integer(0, 0);
    p->removed += n;
    if (n < max_batch) ++p->at;  // the feed is done; else its next batch
    next_feed(p);
  });
}

// The lock goes back whatever happened (a lost connection has let it go already).
void pg_retention::finish(std::shared_ptr<pass> p, bool ok) {
  db_.query("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(lock_key)},
            [this, p, ok](const pg_reply&) {
              running_ = false;
              p->done(ok, p->removed);
            });
}

}  // namespace duplex::chat
