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

/// What one write to a socket did.
struct write_result {
  /// Bytes the kernel took.
  std::size_t written = 0;
  bool blocked = false;  ///< the kernel's buffer is full: wait for EPOLLOUT
  int error = 0;         ///< errno of a fatal error (EPIPE, ECONNRESET...)
};

/// Writes the buffers with one sendmsg (MSG_NOSIGNAL), retrying on EINTR.
write_result write_vector(int fd, const iovec* iov, std::size_t count) noexcept;
write_result write_bytes(int fd, std::string_view bytes) noexcept;

/// Closes a connected socket. Bytes the kernel still holds unsent (a peer that stopped reading)
/// are dropped with a reset instead of a FIN queued behind them: after close() the kernel would
/// keep them, megabytes per socket, as an orphan for minutes, outside every limit of ours.
void close_socket(int fd) noexcept;

/// Bytes for a socket that the kernel has not taken yet: owned copies and shared buffers, in
/// order, written with writev.
///
/// Empty, it is one null pointer: a socket that is not waiting on the kernel holds no queue.
/// While bytes wait, their segments live in a block taken from (and given back to) a small
/// per-thread pool, so that a queue filled and drained on every broadcast costs no allocation.
class send_queue {
 public:
  send_queue() = default;
  ~send_queue() { clear(); }
  send_queue(const send_queue&) = delete;
  send_queue& operator=(const send_queue&) = delete;

  /// Nothing waits.
  bool empty() const noexcept { return q_ == nullptr; }
  /// Bytes waiting.
  std::size_t bytes() const noexcept;

  /// Appends a copy of `data`.
  void push(std::string_view data);
  /// Appends `data`, moved in.
  void push(std::string&& data);
  /// Puts a copy of `data` before everything waiting (what the kernel left of a write that
  /// went out ahead of the queue).
  void push_front(std::string_view data);
  /// References `buf` from `offset` on; the buffer is shared with every other queue that holds it.
  void push(shared_bytes buf, std::size_t offset = 0);

  /// Writes as much as the socket takes, in order, with one writev of up to 64 segments per call.
  write_result flush(int fd) noexcept;
  /// Drops everything waiting.
  void clear() noexcept;

  /// Blocks this thread keeps from drained queues for the next ones (a diagnostic: a fan-out
  /// that drains every subscriber's queue on each iteration takes its blocks from here).
  static std::size_t pooled_blocks() noexcept;

  /// The segments (defined in send_queue.cpp).
  struct block;

 private:
  block& take();
  void consume(std::size_t n) noexcept;

  block* q_ = nullptr;
};

}  // namespace duplex::net
