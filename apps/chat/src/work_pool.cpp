#include "work_pool.hpp"

#include <cstdio>
#include <exception>

namespace duplex::chat {

work_pool::work_pool(std::size_t threads, std::size_t max_queued, poster post)
    : post_(std::move(post)), max_queued_(max_queued) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

work_pool::~work_pool() {
  std::deque<job> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  for (auto& t : threads_)
    t.join();
}

bool work_pool::submit(job j) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(j));
  }
  wake_.notify_one();
  return true;
}

void work_pool::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
}

std::size_t work_pool::waiting() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void work_pool::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    job j = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    try {
      if (auto done = j()) post_(std::move(done));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "duplex-chat: background job failed: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "duplex-chat: background job failed\n");
    }
    j = nullptr;  // its captures are released off the lock
    lock.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_.notify_all();
  }
}

}  // namespace duplex::chat
