#include "sqlite_store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "message_fold.hpp"
#include "schema.hpp"
#include "sql.hpp"

namespace duplex::chat {
namespace {

sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string err = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path + ": " + err);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + msg + " in: " + sql);
  }
}

// A prepared statement freed on scope exit.
class statement {
 public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(s_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  statement& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  bool step() { return sqlite3_step(s_) == SQLITE_ROW; }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int done() { return sqlite3_step(s_); }
  std::int64_t integer(int col) { return sqlite3_column_int64(s_, col); }
  std::string text(int col) {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

bool table_exists(sqlite3* db, const char* name) {
  statement st(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  st.bind(1, name);
  return st.step();
}

// The columns every read selects, in the order read_row takes them.
#define ENTRY_COLUMNS "id, nick, text, ts, cid, author, kind, ref, edited, reactions, file"

stored_message read_row(statement& st, std::string_view room) {
  return {std::string(room),
          st.integer(0),
          st.text(1),
          st.text(2),
          st.integer(3),
          st.text(4),
          st.text(5),
          st.text(6),
          st.integer(7),
          st.integer(8),
          fold::decode_reactions(st.text(9)),
          st.text(10)};
}

std::vector<stored_message> read_rows(statement& st, std::string_view room) {
  std::vector<stored_message> out;
  while (st.step())
    out.push_back(read_row(st, room));
  return out;
}

}  // namespace

sqlite_store::sqlite_store(const std::string& path, poster post, std::int64_t keep_per_room)
    : post_(std::move(post)), keep_(keep_per_room) {
  // The later versions' tables (conversations and read marks among them, schema.cpp): the
  // store may be the first to open the file, and reads them from its first answer on. First,
  // so that a file from a newer duplex-chat is refused before anything else is opened.
  {
    sql::connection db(path, std::chrono::seconds(5));
    configure(db);
    migrate(db);
  }
  write_db_ = open_db(path);
  // WAL: readers never wait for the writer, and a committed transaction survives the process
  // being killed (synchronous=NORMAL gives up only the last commits on power loss).
  exec(write_db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  exec(write_db_,
       "CREATE TABLE IF NOT EXISTS messages ("
       " room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL,"
       " ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;");
  // The names of rooms with history, so that listing them reads at most a page of names: a
  // DISTINCT over the messages read every stored message, on the loop, for each request.
  if (!table_exists(write_db_, "rooms")) {
    exec(write_db_,
         "CREATE TABLE rooms (name TEXT PRIMARY KEY) WITHOUT ROWID;"
         " INSERT OR IGNORE INTO rooms SELECT DISTINCT room FROM messages;");
  }
  read_db_ = open_db(path);
  writer_ = std::thread([this] { writer_loop(); });
}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  sqlite3_close(read_db_);
  sqlite3_close(write_db_);
}

std::int64_t sqlite_store::read_last_id(std::string_view room) {
  statement st(read_db_, "SELECT COALESCE(MAX(id), 0) FROM messages WHERE room = ?");
  st.bind(1, room);
  return st.step() ? st.integer(0) : 0;
}

// Reads run on the hub's loop: a failing one (a locked or damaged file) answers `false`, and
// the answer is given outside the try, so that what the caller does with it is not mistaken
// for a failure of the store.
template <class T, class Read>
std::pair<bool, T> sqlite_store::attempt(Read&& read) noexcept {
  try {
    return {true, read()};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: history read failed: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "duplex-chat: history read failed\n");
  }
  return {false, T{}};
}

void sqlite_store::last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) {
  auto it = last_ids_.find(room);
  if (it != last_ids_.end()) return done(true, it->second);
  auto [ok, id] = attempt<std::int64_t>([&] { return read_last_id(room); });
  done(ok, id);
}

std::int64_t sqlite_store::first_id(std::string_view room) {
  statement st(read_db_, "SELECT COALESCE(MIN(id), 0) FROM messages WHERE room = ?");
  st.bind(1, room);
  return st.step() ? st.integer(0) : 0;
}

void sqlite_store::before(std::string_view room, std::int64_t before_id, std::size_t limit,
                          read_done done) {
  auto [ok, rows] = attempt<std::vector<stored_message>>([&] {
    statement st(read_db_, "SELECT " ENTRY_COLUMNS
                           " FROM (SELECT * FROM messages WHERE room = ? AND id < ?"
                           " ORDER BY id DESC LIMIT ?) ORDER BY id");
    st.bind(1, room).bind(2, before_id).bind(3, static_cast<std::int64_t>(limit));
    return read_rows(st, room);
  });
  done(ok, std::move(rows));
}

void sqlite_store::range(std::string_view room, std::int64_t after_id, std::int64_t up_to,
                         std::size_t limit, read_done done) {
  auto [ok, rows] = attempt<std::vector<stored_message>>([&] {
    statement st(read_db_, "SELECT " ENTRY_COLUMNS
                           " FROM messages WHERE room = ? AND id > ? AND id <= ?"
                           " ORDER BY id LIMIT ?");
    st.bind(1, room).bind(2, after_id).bind(3, up_to).bind(4, static_cast<std::int64_t>(limit));
    return read_rows(st, room);
  });
  done(ok, std::move(rows));
}

void sqlite_store::rooms(std::function<void(bool, std::vector<std::string>)> done) {
  auto [ok, names] = attempt<std::vector<std::string>>([&] {
    // A list for people to read: the first ones by name, not every room ever made.
    statement st(read_db_, "SELECT name FROM rooms ORDER BY name LIMIT ?");
    st.bind(1, static_cast<std::int64_t>(max_listed_rooms));
    std::vector<std::string> out;
    while (st.step())
      out.push_back(st.text(0));
    return out;
  });
  done(ok, std::move(names));
}

// Ids come from a per-room counter on the hub's thread, so they follow the order of the calls;
// the writer commits in that order too.
void sqlite_store::append(stored_message m, std::function<void(bool, std::int64_t)> done) {
  enqueue(std::move(m), std::move(done));
}

std::int64_t sqlite_store::enqueue(stored_message m, std::function<void(bool, std::int64_t)> done) {
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    full = queue_.size() >= max_queued;
    // The cache of next ids may be dropped whenever nothing is waiting to be written: the
    // table then holds every id given out. So it holds the rooms of recent writes, not all.
    if (!full && queue_.empty() && !busy_ && last_ids_.size() >= max_cached_rooms)
      last_ids_.clear();
  }
  // A disk slower than the writers: refused now, rather than queued without end.
  if (full) {
    done(false, 0);
    return 0;
  }
  auto it = last_ids_.find(m.room);
  if (it == last_ids_.end()) {
    auto [ok, last] = attempt<std::int64_t>([&] { return read_last_id(m.room); });
    if (!ok) {
      done(false, 0);
      return 0;
    }
    it = last_ids_.emplace(m.room, last).first;
  }
  m.id = ++it->second;
  const std::int64_t id = m.id;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(m), std::move(done)});
  }
  wake_.notify_one();
  return id;
}

std::string sqlite_store::sent_key(const stored_message& m) {
  return m.author + '\n' + m.room + '\n' + m.cid;  // no key, feed or cid holds a newline
}

std::int64_t sqlite_store::sent_id(const stored_message& m) {
  statement st(read_db_, "SELECT id FROM sent WHERE author = ? AND feed = ? AND cid = ?");
  st.bind(1, m.author).bind(2, m.room).bind(3, m.cid);
  return st.step() ? st.integer(0) : 0;
}

// The queue first: a resend may come while the first send still waits for the writer.
void sqlite_store::append_once(stored_message m, std::function<void(append_result)> done) {
  if (m.cid.empty())
    return append(std::move(m), [done = std::move(done)](bool ok, std::int64_t id) {
      done({ok, id, false});
    });
  std::string key = sent_key(m);
  if (auto it = in_flight_.find(key); it != in_flight_.end()) return done({true, it->second, true});
  auto [read, found] = attempt<std::int64_t>([&] { return sent_id(m); });
  if (!read) return done({false, 0, false});
  if (found != 0) return done({true, found, true});
  const std::int64_t given =
      enqueue(std::move(m), [this, key, done = std::move(done)](bool ok, std::int64_t id) {
        in_flight_.erase(key);  // committed (found in the file from now on) or failed
        done({ok, id, false});
      });
  if (given != 0) in_flight_.emplace(std::move(key), given);
}

void sqlite_store::erase(std::string_view room, std::int64_t id,
                         std::function<void(bool, bool)> done) {
  stored_message m;
  m.room = std::string(room);
  m.id = id;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queued) return done(false, false);
    queue_.push_back(
        {std::move(m),
         [done = std::move(done)](bool ok, std::int64_t found) { done(ok, found != 0); }, true});
  }
  wake_.notify_one();
}

void sqlite_store::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && side_.empty() && !busy_; });
}

void sqlite_store::writer_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !side_.empty(); });
    if (queue_.empty() && side_.empty() && stopping_) return;
    // Everything queued so far goes into one transaction: one fsync-free commit per batch.
    std::deque<pending> batch;
    batch.swap(queue_);
    std::deque<side_write> side;
    side.swap(side_);
    busy_ = true;
    lock.unlock();
    const bool ok = batch.empty() || commit(batch);
    commit_side(side);  // after the messages: a conversation is listed once it has one
    for (auto& p : batch) {
      post_([this, m = std::move(p.msg), done = std::move(p.done), ok, p_erase = p.erase] {
        if (ok && !p_erase) report_message(m);
        if (done) done(ok, ok ? m.id : 0);
      });
    }
    lock.lock();
    busy_ = false;
    idle_.notify_all();
  }
}

namespace {

void remember_cid(sqlite3* db, statement& sent, statement& forget, const stored_message& m) {
  sent.reset();
  sent.bind(1, m.author).bind(2, m.room).bind(3, m.cid).bind(4, m.id);
  if (sent.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
  forget.reset();
  forget.bind(1, m.author).bind(2, static_cast<std::int64_t>(store::max_sent_cids));
  if (forget.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
}

}  // namespace

// In the event's transaction: the target row holds the folded state, so that a history page
// is read as it is, without the events (docs/chat-protocol.md, "Edits, deletions, reactions").
void sqlite_store::fold_into_target(const stored_message& e) {
  statement get(write_db_, "SELECT " ENTRY_COLUMNS " FROM messages WHERE room = ? AND id = ?");
  get.bind(1, e.room).bind(2, e.ref_id);
  if (!get.step()) return;  // pruned meanwhile: the event is stored and changes nothing
  stored_message m = read_row(get, e.room);
  if (!fold::apply(m, e)) return;
  statement put(
      write_db_,
      "UPDATE messages SET text = ?, edited = ?, reactions = ?, file = ? WHERE room = ? AND id = ?");
  put.bind(1, m.text)
      .bind(2, m.edited_ms)
      .bind(3, fold::encode_reactions(m.reactions))
      .bind(4, m.file)
      .bind(5, e.room)
      .bind(6, e.ref_id);
  if (put.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(write_db_));
}

bool sqlite_store::commit(std::deque<pending>& batch) {
  try {
    exec(write_db_, "BEGIN IMMEDIATE");
    statement one(write_db_,
                  "INSERT INTO messages (room, id, nick, text, ts, cid, author, kind, ref, file)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    statement sent(write_db_,
                   "INSERT OR IGNORE INTO sent (author, feed, cid, id) VALUES (?, ?, ?, ?)");
    // An author's oldest cids past the last max_sent_cids go: the table stays bounded.
    statement forget(write_db_,
                     "DELETE FROM sent WHERE author = ?1 AND rowid <= (SELECT rowid FROM sent"
                     " WHERE author = ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?2)");
    statement named(write_db_, "INSERT OR IGNORE INTO rooms (name) VALUES (?)");
    statement erase(write_db_,
                    "UPDATE messages SET text = '', reactions = '', file = '' WHERE room = ? AND id = ?"
                    " AND kind = ''");
    for (auto& p : batch) {
      if (p.erase) {
        erase.reset();
        erase.bind(1, p.msg.room).bind(2, p.msg.id);
        if (erase.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(write_db_));
        if (sqlite3_changes(write_db_) == 0) p.msg.id = 0;
        continue;
      }
      one.reset();
      one.bind(1, p.msg.room)
          .bind(2, p.msg.id)
          .bind(3, p.msg.nick)
          .bind(4, p.msg.text)
          .bind(5, p.msg.ts_ms)
          .bind(6, p.msg.cid)
          .bind(7, p.msg.author)
          .bind(8, p.msg.kind)
          .bind(9, p.msg.ref_id)
          .bind(10, p.msg.file);
      if (one.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(write_db_));
      if (fold::is_event(p.msg)) fold_into_target(p.msg);
      if (!p.msg.cid.empty()) remember_cid(write_db_, sent, forget, p.msg);
      // On the writer thread: one index probe per message. A conversation is no room.
      if (!p.msg.room.starts_with('@')) {
        named.reset();
        named.bind(1, p.msg.room);
        if (named.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(write_db_));
      }
      if (p.msg.id % 100 == 0) {  // retention: prune now and then, not on every insert
        statement prune(write_db_, "DELETE FROM messages WHERE room = ? AND id <= ?");
        prune.bind(1, p.msg.room).bind(2, p.msg.id - keep_);
        prune.done();
      }
    }
    exec(write_db_, "COMMIT");
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: history write failed: %s\n", e.what());
    sqlite3_exec(write_db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
}

// ----- Private conversations and read marks (issue 11, items 5 and 7)

void sqlite_store::load_user(std::string_view user, std::function<void(bool, user_record)> done) {
  auto [ok, rec] = attempt<user_record>([&] {
    user_record out;
    statement convos(read_db_,
                     "SELECT c.peer, c.peer_name, c.feed,"
                     " (SELECT COALESCE(MAX(id), 0) FROM messages m WHERE m.room = c.feed)"
                     " FROM conversations c WHERE c.user = ? LIMIT ?");
    convos.bind(1, user).bind(2, static_cast<std::int64_t>(max_listed_conversations));
    while (convos.step())
      out.conversations.push_back(
          {convos.text(0), convos.text(1), convos.text(2), convos.integer(3)});
    statement marks(read_db_, "SELECT feed, last_read FROM read_marks WHERE user = ? LIMIT ?");
    marks.bind(1, user).bind(2, static_cast<std::int64_t>(max_listed_marks));
    while (marks.step())
      out.read_marks.emplace_back(marks.text(0), marks.integer(1));
    return out;
  });
  done(ok, std::move(rec));
}

void sqlite_store::add_conversation(const std::string& feed, const std::string& a,
                                    const std::string& a_name, const std::string& b,
                                    const std::string& b_name) {
  queue_side({true, feed, a, b, b_name, 0});
  queue_side({true, feed, b, a, a_name, 0});
}

void sqlite_store::set_read(const std::string& user, const std::string& feed, std::int64_t id) {
  queue_side({false, feed, user, {}, {}, id});
}

// Bounded like the appends: past it a write is dropped (a read mark is raised again by the next
// one, a conversation is recorded again with its next message).
void sqlite_store::queue_side(side_write w) {
  {
    std::lock_guard lock(mutex_);
    if (side_.size() >= max_queued) return;
    side_.push_back(std::move(w));
  }
  wake_.notify_one();
}

void sqlite_store::commit_side(std::deque<side_write>& writes) {
  if (writes.empty()) return;
  try {
    exec(write_db_, "BEGIN IMMEDIATE");
    statement convo(write_db_,
                    "INSERT OR IGNORE INTO conversations (user, peer, peer_name, feed)"
                    " VALUES (?, ?, ?, ?)");
    statement mark(write_db_,
                   "INSERT INTO read_marks (user, feed, last_read) VALUES (?, ?, ?)"
                   " ON CONFLICT (user, feed) DO UPDATE SET"
                   " last_read = MAX(last_read, excluded.last_read)");
    for (auto& w : writes) {
      statement& st = w.conversation ? convo : mark;
      st.reset();
      if (w.conversation)
        st.bind(1, w.user).bind(2, w.peer).bind(3, w.peer_name).bind(4, w.feed);
      else
        st.bind(1, w.user).bind(2, w.feed).bind(3, w.id);
      if (st.done() != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(write_db_));
    }
    exec(write_db_, "COMMIT");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: conversation or read mark write failed: %s\n", e.what());
    sqlite3_exec(write_db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace duplex::chat
