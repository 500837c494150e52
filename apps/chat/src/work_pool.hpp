// A few threads for slow work that must stay off the event loop (password hashing, writes that
// may wait for SQLite's lock), with a bounded queue; each result is posted back to the loop.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace duplex::chat {

class work_pool {
 public:
  using poster = std::function<void(std::function<void()>)>;
  // A job runs on a worker and returns its completion, which `post` hands to the loop. A job
  // should not throw: one that does is logged and posts nothing.
  using job = std::function<std::function<void()>()>;

  work_pool(std::size_t threads, std::size_t max_queued, poster post);
  // Jobs not started yet are dropped (their completions never run); running ones finish and
  // post their completions.
  ~work_pool();
  work_pool(const work_pool&) = delete;
  work_pool& operator=(const work_pool&) = delete;

  // False, at once and with nothing queued, when `max_queued` jobs are waiting already: the
  // caller answers "busy" instead of letting a queue of slow work grow without end.
  bool submit(job j);
  // Blocks until no job is queued or running (for tests and one-shot commands).
  void drain();
  std::size_t waiting() const;

 private:
  void run();

  poster post_;
  std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<job> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace duplex::chat
