// History in SQLite (WAL mode): reads on the caller's thread, writes batched on a writer thread
// so that a commit never stalls the event loop.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

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

  std::int64_t last_id(std::string_view room) override;
  std::int64_t first_id(std::string_view room) override;
  void append(stored_message m, std::function<void(bool ok)> done) override;
  std::vector<stored_message> before(std::string_view room, std::int64_t before_id,
                                     std::size_t limit) override;
  std::vector<stored_message> range(std::string_view room, std::int64_t after_id,
                                    std::int64_t up_to, std::size_t limit) override;
  std::vector<std::string> rooms() override;

  // Blocks until every append made so far is committed (for tests and shutdown).
  void flush();

 private:
  struct pending {
    stored_message msg;
    std::function<void(bool)> done;
  };
  void writer_loop();
  bool commit(std::deque<pending>& batch);

  sqlite3* read_db_ = nullptr;
  sqlite3* write_db_ = nullptr;
  poster post_;
  std::int64_t keep_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<pending> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace duplex::chat
