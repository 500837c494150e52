#include "pg_store.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "conversations.hpp"
#include "message_fold.hpp"

namespace duplex::chat {
namespace {

// One statement, so one transaction: the feed's counter is raised (its row locked until the
// commit, which orders concurrent writers of one feed) and the message stored under the new
// value. A failed insert rolls the counter back with it: ids stay dense. A cid its author
// already stored in the feed answers that message's id instead ($7 empty: no cid, always
// stored). Two nodes racing with one resend both miss `prior`; the unique index lets one in,
// and the other (no row back, its counter raise kept as an id that never exists) looks again.
constexpr const char* append_sql =
    "WITH prior AS (SELECT id FROM messages"
    " WHERE $7 <> '' AND feed = $1 AND author = $6 AND cid = $7),"
    " next AS (INSERT INTO feeds (feed, last_id, is_room)"
    " SELECT $1::text, 1, $5::boolean WHERE NOT EXISTS (SELECT 1 FROM prior)"
    " ON CONFLICT (feed) DO UPDATE SET last_id = feeds.last_id + 1 RETURNING last_id),"
    " stored AS (INSERT INTO messages (feed, id, nick, body, ts_ms, cid, author, kind, ref, file)"
    " SELECT $1::text, last_id, $2::text, $3::text, $4::bigint, $7::text, $6::text, $8::text,"
    " $9::bigint, $10::text FROM next"
    " ON CONFLICT (feed, author, cid) WHERE cid <> '' DO NOTHING RETURNING id)"
    " SELECT id, 0 FROM stored UNION ALL SELECT id, 1 FROM prior";

constexpr const char* find_sql =
    "SELECT id FROM messages WHERE feed = $1 AND author = $2 AND cid = $3 AND cid <> ''";

// An event: stored as append_sql stores a message, and folded into its target in the same
// statement (so the same transaction), by message_fold.hpp's rules: nothing changes a deleted
// message (an empty body and no file), only its author edits or deletes it, a new emoji only below
// fold::max_reactions ($9) and a person only below fold::max_reactors ($10).
constexpr const char* event_sql =
    "WITH next AS (INSERT INTO feeds (feed, last_id, is_room) VALUES ($1, 1, $5)"
    " ON CONFLICT (feed) DO UPDATE SET last_id = feeds.last_id + 1 RETURNING last_id),"
    " target AS (SELECT author FROM messages WHERE feed = $1 AND id = $7 AND kind = ''"
    "  AND (body <> '' OR file <> '') FOR UPDATE),"
    " stored AS (INSERT INTO messages (feed, id, nick, body, ts_ms, kind, ref, author)"
    "  SELECT $1, last_id, $2, $3, $4, $6, $7, $8 FROM next RETURNING id),"
    " edited AS (UPDATE messages SET body = CASE WHEN $6 = 'edit' THEN $3 ELSE '' END,"
    "  file = CASE WHEN $6 = 'delete' THEN '' ELSE file END, edited = $4 WHERE feed = $1 AND id = "
    "$7 AND $6 IN ('edit', 'delete')"
    "  AND EXISTS (SELECT 1 FROM target WHERE author <> '' AND author = $8)),"
    " cleared AS (DELETE FROM reactions WHERE feed = $1 AND id = $7"
    "  AND (($6 = 'unreact' AND emoji = $3 AND nick = $2) OR ($6 = 'delete'"
    "  AND EXISTS (SELECT 1 FROM target WHERE author <> '' AND author = $8)))),"
    " reacted AS (INSERT INTO reactions SELECT $1, $7, $3, $2, stored.id FROM stored"
    "  WHERE $6 = 'react' AND EXISTS (SELECT 1 FROM target)"
    "  AND (EXISTS (SELECT 1 FROM reactions WHERE feed = $1 AND id = $7 AND emoji = $3)"
    "   OR (SELECT count(DISTINCT emoji) FROM reactions WHERE feed = $1 AND id = $7) < $9)"
    "  AND (SELECT count(*) FROM reactions WHERE feed = $1 AND id = $7 AND emoji = $3) < $10"
    "  ON CONFLICT DO NOTHING)"
    " SELECT id FROM stored";

// A message's reactions as message_fold.cpp encodes them, in the order they came.
constexpr const char* columns =
    "SELECT m.id, m.nick, m.body, m.ts_ms, m.kind, m.ref, m.author, m.edited,"
    " (SELECT json_agg(json_build_array(g.emoji, g.nicks) ORDER BY g.first) FROM"
    "  (SELECT emoji, json_agg(nick ORDER BY seq) AS nicks, min(seq) AS first FROM reactions r"
    "   WHERE r.feed = m.feed AND r.id = m.id GROUP BY emoji) g)"
    " , m.cid, m.file FROM messages m ";

}  // namespace

pg_store::pg_store(net::event_loop& loop, pg_options pg, std::vector<redis_options> redis,
                   std::chrono::milliseconds presence_ttl)
    : db_(loop, std::move(pg)), bus_(loop, std::move(redis), 0, presence_ttl) {
  bus_.set_listener(this);
  db_.on_state = [this](bool up) {
    std::fprintf(stderr, "duplex-chat: postgresql %s\n",
                 up ? "connected" : ("lost; reconnecting (" + db_.last_error() + ")").c_str());
    // Reads that failed while it was down (a gap being filled) are retried by a resync.
    if (up) report_resync();
  };
}

void pg_store::start() {
  db_.start();
  bus_.start();
}

// The bus is back: what it lost meanwhile is read from PostgreSQL, and this node's own messages
// that it never carried are announced now, so that other nodes notice them.
void pg_store::on_resync() {
  on_resync_feeds([](const std::string&) { return true; });
}

// A shard of the bus is back, or a channel was just subscribed: the same for its feeds only.
void pg_store::on_resync_feeds(const std::function<bool(const std::string&)>& pick) {
  std::vector<stored_message> pending;
  for (auto it = unannounced_.begin(); it != unannounced_.end();)
    if (pick(it->first)) {
      pending.push_back(std::move(it->second));
      it = unannounced_.erase(it);
    } else {
      ++it;
    }
  for (const auto& m : pending)
    announce(m);
  report_resync_feeds(pick);
}

void pg_store::announce(const stored_message& m) {
  if (bus_.publish(m)) {
    unannounced_.erase(m.room);
    return;
  }
  if (unannounced_.size() < max_unannounced || unannounced_.contains(m.room))
    unannounced_[m.room] = m;
}

void pg_store::last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) {
  db_.query("SELECT last_id FROM feeds WHERE feed = $1", {std::string(room)},
            [done](const pg_reply& r) {
              if (!r.ok()) return done(false, 0);
              done(true, r.rows() > 0 ? r.integer(0, 0) : 0);
            });
}

void pg_store::append(stored_message m, std::function<void(bool, std::int64_t)> done) {
  m.cid.clear();  // no client id: stored whatever was stored before
  append_once(std::move(m), [done = std::move(done)](append_result r) { done(r.ok, r.id); });
}

void pg_store::append_once(stored_message m, std::function<void(append_result)> done) {
  const bool room = !conversations::is_conversation(m.room);
  const bool event = fold::is_event(m);
  // An event keeps no cid (no resend is recognised for it here) and has its own statement.
  std::vector<std::string> params =
      event ? std::vector<std::string>{m.room,
                                       m.nick,
                                       m.text,
                                       std::to_string(m.ts_ms),
                                       room ? "true" : "false",
                                       m.kind,
                                       std::to_string(m.ref_id),
                                       m.author,
                                       std::to_string(fold::max_reactions),
                                       std::to_string(fold::max_reactors)}
            : std::vector<std::string>{
                  m.room,   m.nick, m.text, std::to_string(m.ts_ms),  room ? "true" : "false",
                  m.author, m.cid,  m.kind, std::to_string(m.ref_id), m.file};
  db_.query(event ? event_sql : append_sql, std::move(params),
            [this, m, event, done](const pg_reply& r) mutable {
              // The hub answers the sender with store_failed; the link's state change is the log
              // line.
              if (!r.ok() || r.rows() > 1 || (event && r.rows() != 1))
                return done({false, 0, false});
              if (r.rows() == 0) return find_once(m, std::move(done));
              m.id = r.integer(0, 0);
              if (!event && r.integer(0, 1) == 1) return done({true, m.id, true});
              // This node hears its own messages at once, Redis or not; the others through the bus.
              report_message(m);
              announce(m);
              done({true, m.id, false});
            });
}

// The other node of a race stored the cid first: its id is the answer.
void pg_store::find_once(const stored_message& m, std::function<void(append_result)> done) {
  if (m.cid.empty()) return done({false, 0, false});
  db_.query(find_sql, {m.room, m.author, m.cid}, [done](const pg_reply& r) {
    if (!r.ok() || r.rows() != 1) return done({false, 0, false});
    done({true, r.integer(0, 0), true});
  });
}

void pg_store::read(std::string sql, std::vector<std::string> params, std::string room,
                    bool reverse, read_done done) {
  db_.query(std::move(sql), std::move(params), [room, reverse, done](const pg_reply& r) {
    if (!r.ok()) return done(false, {});
    std::vector<stored_message> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      stored_message m{room, r.integer(i, 0), std::string(r.text(i, 1)), std::string(r.text(i, 2)),
                       r.integer(i, 3)};
      m.kind = r.text(i, 4);
      m.ref_id = r.integer(i, 5);
      m.author = r.text(i, 6);
      m.edited_ms = r.integer(i, 7);
      m.reactions = fold::decode_reactions(r.text(i, 8));
      m.cid = r.text(i, 9);
      m.file = r.text(i, 10);
      out.push_back(std::move(m));
    }
    if (reverse) std::reverse(out.begin(), out.end());
    done(true, std::move(out));
  });
}

void pg_store::before(std::string_view room, std::int64_t before_id, std::size_t limit,
                      read_done done) {
  if (before_id <= 1 || limit == 0) return done(true, {});
  read(std::string(columns) + "WHERE m.feed = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3",
       {std::string(room), std::to_string(before_id), std::to_string(limit)}, std::string(room),
       true, std::move(done));
}

void pg_store::range(std::string_view room, std::int64_t after_id, std::int64_t up_to,
                     std::size_t limit, read_done done) {
  if (up_to <= after_id || limit == 0) return done(true, {});
  read(std::string(columns) +
           "WHERE m.feed = $1 AND m.id > $2 AND m.id <= $3 ORDER BY m.id LIMIT $4",
       {std::string(room), std::to_string(after_id), std::to_string(up_to), std::to_string(limit)},
       std::string(room), false, std::move(done));
}

void pg_store::rooms(std::function<void(bool, std::vector<std::string>)> done) {
  db_.query("SELECT feed FROM feeds WHERE is_room ORDER BY feed LIMIT $1",
            {std::to_string(redis_store::max_listed_rooms)}, [done](const pg_reply& r) {
              if (!r.ok()) return done(false, {});
              std::vector<std::string> names;
              for (int i = 0; i < r.rows(); ++i)
                names.emplace_back(r.text(i, 0));
              done(true, std::move(names));
            });
}

void pg_store::erase(std::string_view room, std::int64_t id, std::function<void(bool, bool)> done) {
  db_.query("UPDATE messages SET body = '', file = '' WHERE feed = $1 AND id = $2 AND kind = ''",
            {std::string(room), std::to_string(id)},
            [done](const pg_reply& r) { done(r.ok(), r.ok() && r.affected() > 0); });
}

void pg_store::set_presence(const std::string& room, const std::string& nick, bool present) {
  bus_.set_presence(room, nick, present);
}

void pg_store::remote_members(const std::string& room,
                              std::function<void(bool, std::vector<std::string>)> done) {
  bus_.remote_members(room, std::move(done));
}

// ----- Private conversations and read marks

void pg_store::add_conversation(const std::string& feed, const std::string& a,
                                const std::string& a_name, const std::string& b,
                                const std::string& b_name) {
  // One row per side; a conversation with oneself has only one (and one statement may not
  // update a row twice).
  const char* sql =
      a == b ? "INSERT INTO conversations VALUES ($1, $2, $3, $4)"
               " ON CONFLICT (user_key, peer) DO UPDATE SET peer_name = EXCLUDED.peer_name,"
               " feed = EXCLUDED.feed"
             : "INSERT INTO conversations VALUES ($1, $2, $3, $4), ($2, $1, $5, $4)"
               " ON CONFLICT (user_key, peer) DO UPDATE SET peer_name = EXCLUDED.peer_name,"
               " feed = EXCLUDED.feed";
  std::vector<std::string> params{a, b, b_name, feed};
  if (a != b) params.push_back(a_name);
  db_.query(sql, std::move(params), [feed](const pg_reply& r) {
    if (!r.ok())
      std::fprintf(stderr, "duplex-chat: conversation %s not listed: %s\n", feed.c_str(),
                   r.error().c_str());
  });
}

void pg_store::set_read(const std::string& user, const std::string& feed, std::int64_t id) {
  db_.query(
      "INSERT INTO read_marks VALUES ($1, $2, $3) ON CONFLICT (user_key, feed)"
      " DO UPDATE SET last_id = GREATEST(read_marks.last_id, EXCLUDED.last_id)",
      {user, feed, std::to_string(id)}, nullptr);
}

// Two reads in turn: the conversations with their feeds' last ids, then the read marks; once
// the bus brings this node the user's channel, so that a private message stored before the
// reads is in them, and one stored after is heard.
void pg_store::load_user(std::string_view user, std::function<void(bool, user_record)> done) {
  const std::string key(user);
  bus_.when_hearing_user(
      key, [this, key, done = std::move(done)]() mutable { load_user_now(key, std::move(done)); });
}

void pg_store::load_user_now(const std::string& key, std::function<void(bool, user_record)> done) {
  db_.query(
      "SELECT c.peer, c.peer_name, c.feed, coalesce(f.last_id, 0) FROM conversations c"
      " LEFT JOIN feeds f ON f.feed = c.feed WHERE c.user_key = $1 ORDER BY c.peer LIMIT $2",
      {key, std::to_string(max_listed_conversations)}, [this, key, done](const pg_reply& r) {
        if (!r.ok()) return done(false, {});
        auto rec = std::make_shared<user_record>();
        for (int i = 0; i < r.rows(); ++i)
          rec->conversations.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                                        std::string(r.text(i, 2)), r.integer(i, 3)});
        db_.query("SELECT feed, last_id FROM read_marks WHERE user_key = $1 ORDER BY feed LIMIT $2",
                  {key, std::to_string(max_listed_marks)}, [rec, done](const pg_reply& m) {
                    if (!m.ok()) return done(false, {});
                    for (int i = 0; i < m.rows(); ++i)
                      rec->read_marks.emplace_back(std::string(m.text(i, 0)), m.integer(i, 1));
                    done(true, std::move(*rec));
                  });
      });
}

}  // namespace duplex::chat
