// Uploaded files in PostgreSQL (--pg, schema step 8), shared by every node: each upload's row and
// its content in chunks, read and written on worker threads with connections of their own, so
// that a large file or a slow database never stalls the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg_sync.hpp"
#include "uploads.hpp"
#include "work_pool.hpp"

namespace duplex::chat {

// How a job ended: `refused` is the rule's answer (too many unposted uploads), `failed`
// PostgreSQL's (down, slow, or a statement refused).
enum class file_status { ok, refused, failed };

class pg_file_store {
 public:
  // Content rows hold at most this much: what one upload holds in memory before it is written.
  static constexpr std::size_t chunk_bytes = 256 * 1024;

  // `threads` workers, each with its own connection (opened on first use, with `opts`'s bounds
  // and breaker); `post` hands completions to the loop. `max_queued`: jobs waiting at most, past
  // which a call answers false (busy). The loop's own connection (claim) has the short bounds of
  // the account reads.
  pg_file_store(const std::string& conninfo, std::size_t threads, std::size_t max_queued,
                work_pool::poster post);
  ~pg_file_store();
  pg_file_store(const pg_file_store&) = delete;
  pg_file_store& operator=(const pg_file_store&) = delete;

  using status_done = std::function<void(file_status)>;
  // Each returns false, with nothing done, when the queue is full; `done` runs on the loop.

  // The upload's row (id, uploader, feed, name, created_ms), unless the uploader has
  // `max_unposted` uploads no message carries yet (refused).
  bool begin(const upload_record& r, std::size_t max_unposted, status_done done);
  // Content row `seq` of the upload (0, 1, ...).
  bool write(std::string id, int seq, std::string bytes, status_done done);
  // The last content row (if `bytes` is not empty) and what the whole content is, in one
  // transaction: the upload is complete.
  bool finish(const upload_record& r, int seq, std::string bytes, status_done done);
  // Forgets an upload that did not end (its chunks with it). Best effort: a row left behind is
  // swept with the incomplete ones.
  void discard(std::string id);
  // The record of a complete upload, or nothing.
  using find_done = std::function<void(file_status, std::optional<upload_record>)>;
  bool find(std::string id, find_done done);
  // The content, chunk after chunk into one string of `size` bytes (failed if it is not that).
  using read_done = std::function<void(file_status, std::string)>;
  bool read(std::string id, std::int64_t size, read_done done);
  // Forgets uploads never posted made before `unposted_cutoff_ms`, and incomplete ones made
  // before `incomplete_cutoff_ms` (a node that died during an upload).
  void sweep(std::int64_t unposted_cutoff_ms, std::int64_t incomplete_cutoff_ms);

  // On the loop, for the hub's check of a say or dm with `file`: the user's own complete upload
  // for this feed, marked posted, or nothing. Throws pg_error when PostgreSQL cannot say.
  std::optional<upload_record> claim(std::string_view id, std::string_view uploader,
                                     std::string_view feed);

 private:
  // A worker's connection for one job, back in the pool after it.
  class lease;
  bool run(std::function<std::function<void()>(pg_sync&)> job);

  std::mutex mutex_;
  std::vector<std::unique_ptr<pg_sync>> idle_;  // one per worker, taken for a job
  pg_sync loop_db_;
  work_pool pool_;  // last: its threads stop before the connections go
};

}  // namespace duplex::chat
