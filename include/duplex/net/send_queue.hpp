// What the kernel refused to take yet: owned copies and references into shared broadcast frames.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct iovec;

namespace duplex::net {

using shared_bytes = std::shared_ptr<const std::string>;

struct write_result {
  std::size_t written = 0;
  bool blocked = false;  // the kernel's buffer is full: wait for EPOLLOUT
  int error = 0;         // errno of a fatal error (EPIPE, ECONNRESET...)
};

// Writes the buffers with one sendmsg (MSG_NOSIGNAL), retrying on EINTR.
write_result write_vector(int fd, const iovec* iov, std::size_t count) noexcept;
write_result write_bytes(int fd, std::string_view bytes) noexcept;

// Closes a connected socket. Bytes the kernel still holds unsent (a peer that stopped reading)
// are dropped with a reset instead of a FIN queued behind them: after close() the kernel would
// keep them, megabytes per socket, as an orphan for minutes, outside every limit of ours.
void close_socket(int fd) noexcept;

// Empty, it is one null pointer: a socket that is not waiting on the kernel holds no queue.
// While bytes wait, their segments live in a block taken from (and given back to) a small
// per-thread pool, so that a queue filled and drained on every broadcast costs no allocation.
class send_queue {
 public:
  send_queue() = default;
  ~send_queue() { clear(); }
  send_queue(const send_queue&) = delete;
  send_queue& operator=(const send_queue&) = delete;

  bool empty() const noexcept { return q_ == nullptr; }
  std::size_t bytes() const noexcept;

  void push(std::string_view data);
  void push(std::string&& data);
  // References `buf` from `offset` on; the buffer is shared with every other queue that holds it.
  void push(shared_bytes buf, std::size_t offset = 0);

  // Writes as much as the socket takes, in order, with one writev of up to 64 segments per call.
  write_result flush(int fd) noexcept;
  void clear() noexcept;

  struct block;  // the segments (send_queue.cpp)

 private:
  block& take();
  void consume(std::size_t n) noexcept;

  block* q_ = nullptr;
};

}  // namespace duplex::net
