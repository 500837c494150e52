// History in SQLite (WAL mode) for one node: reads on the caller's thread (answered at once),
// writes batched on a writer thread so that a commit never stalls the event loop.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "store.hpp"

struct sqlite3;

namespace duplex::chat {

class sqlite_store final : public store {
 public:
  using poster = std::function<void(std::function<void()>)>;

  // `post` runs a completion on the hub's thread. `keep_per_room`: older messages are pruned.
  sqlite_store(const std::string& path, poster post, std::int64_t keep_per_room = 10'000);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  void last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) override;
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override;
  // A cid is looked up among the appends still queued, then in the file's `sent` table.
  void append_once(stored_message m, std::function<void(append_result)> done) override;
  void before(std::string_view room, std::int64_t before_id, std::size_t limit,
              read_done done) override;
  void range(std::string_view room, std::int64_t after_id, std::int64_t up_to, std::size_t limit,
             read_done done) override;
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override;
  // Queued behind the appends made before it, so it never misses a message still being written.
  void erase(std::string_view room, std::int64_t id, std::function<void(bool, bool)> done) override;
  // Events are folded into their message's row as they are committed.
  bool keeps_events() const noexcept override { return true; }
  // Conversations and read marks (sqlite_store.cpp's last section).
  void load_user(std::string_view user, std::function<void(bool, user_record)> done) override;
  void add_conversation(const std::string& feed, const std::string& a, const std::string& a_name,
                        const std::string& b, const std::string& b_name) override;
  void set_read(const std::string& user, const std::string& feed, std::int64_t id) override;

  static constexpr std::size_t max_queued = 10'000;        // appends waiting for the writer
  static constexpr std::size_t max_cached_rooms = 10'000;  // next ids kept in memory
  static constexpr std::size_t max_listed_rooms = 1'000;   // names rooms() returns

  // The lowest id still kept for the room (0 if none): older ones were pruned.
  std::int64_t first_id(std::string_view room);
  // Blocks until every append made so far is committed (for tests and shutdown).
  void flush();

 private:
  struct pending {
    stored_message msg;
    std::function<void(bool, std::int64_t)> done;
    bool erase = false;  // erase msg.id of msg.room; the commit sets msg.id to 0 if not found
  };
  // A write that rides with the next batch of messages, committed after them.
  struct side_write {
    bool conversation = false;  // else a read mark
    std::string feed, user, peer, peer_name;
    std::int64_t id = 0;
  };
  void queue_side(side_write w);
  void commit_side(std::deque<side_write>& writes);
  std::int64_t read_last_id(std::string_view room);
  // Queues the message under the next id of its room, which it returns; 0 when refused (done
  // has been told).
  std::int64_t enqueue(stored_message m, std::function<void(bool, std::int64_t)> done);
  // The id stored for (author, feed, cid), or 0.
  std::int64_t sent_id(const stored_message& m);
  static std::string sent_key(const stored_message& m);
  template <class T, class Read>
  std::pair<bool, T> attempt(Read&& read) noexcept;
  void writer_loop();
  bool commit(std::deque<pending>& batch);
  void fold_into_target(const stored_message& e);

  sqlite3* read_db_ = nullptr;
  sqlite3* write_db_ = nullptr;
  poster post_;
  std::int64_t keep_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<pending> queue_;
  std::deque<side_write> side_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread writer_;
  std::map<std::string, std::int64_t, std::less<>> last_ids_;  // hub thread only
  // Appends with a cid, queued and not yet answered: sent_key -> id. Hub thread only.
  std::map<std::string, std::int64_t> in_flight_;
};

}  // namespace duplex::chat
