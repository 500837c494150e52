// Search in the SQLite file of one node: FTS5 over every feed's messages (schema version 7),
// queried on a thread of its own so that a broad query never holds up the event loop.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "search.hpp"
#include "work_pool.hpp"

namespace duplex::chat {

namespace sql {
class connection;
}

class sqlite_search final : public message_search {
 public:
  // `post` runs a completion on the hub's thread. A query running longer than `budget` is
  // stopped and answered with search_status::timeout; at most `max_waiting` wait behind it.
  sqlite_search(const std::string& path, work_pool::poster post,
                std::chrono::milliseconds budget = std::chrono::milliseconds(250),
                std::size_t max_waiting = 32);
  ~sqlite_search() override;

  void find(search_request r,
            std::function<void(search_status, std::vector<search_hit>)> done) override;
  // Blocks until every search asked so far has posted its answer (tests, shutdown).
  void drain() { pool_.drain(); }

 private:
  search_status run(const search_request& r, std::vector<search_hit>& out);

  std::unique_ptr<sql::connection> db_;  // the worker's only
  std::chrono::milliseconds budget_;
  work_pool pool_;  // one thread, last: it stops before the connection goes
};

}  // namespace duplex::chat
