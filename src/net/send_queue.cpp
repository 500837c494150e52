#include "duplex/net/send_queue.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "io_calls.hpp"

namespace duplex::net {

namespace {

// Inlined into both callers: write_bytes runs once per reply, and a call more costs as much as
// the checks it would share.
[[gnu::always_inline]] inline write_result send_vector(int fd, const iovec* iov,
                                                       std::size_t count) noexcept {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  while (true) {
    const ssize_t n = sys::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return {static_cast<std::size_t>(n), false, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, true, 0};
    return {0, false, errno};
  }
}

}  // namespace

write_result write_vector(int fd, const iovec* iov, std::size_t count) noexcept {
  return send_vector(fd, iov, count);
}

write_result write_bytes(int fd, std::string_view bytes) noexcept {
  iovec v{const_cast<char*>(bytes.data()), bytes.size()};
  return send_vector(fd, &v, 1);
}

struct send_queue::block {
  struct segment {
    std::string owned;
    shared_bytes shared;
    std::size_t offset = 0;
    std::string_view rest() const noexcept {
      return std::string_view(shared ? *shared : owned).substr(offset);
    }
  };
  std::vector<segment> segments;
  std::size_t head = 0;  // first live segment
  std::size_t bytes = 0;
};

namespace {

// Blocks of drained queues, kept for the next queue of this thread. A broadcast queues a block
// on every subscriber at once and drains them all at the iteration's end, so the pool is sized
// for a fan-out to a thousand sockets with a batch of up to 16 frames each (under 1 MiB kept per
// thread at most); beyond that a block is freed and allocated again. Trivially destructible,
// so that a queue destroyed late in the thread's exit still finds it; `drain` empties it then.
struct block_pool {
  static constexpr std::size_t max_blocks = 1024;
  static constexpr std::size_t max_segments = 16;
  send_queue::block* free[max_blocks];
  std::size_t count;
  bool closed;  // the thread is ending: blocks are deleted, not kept
};
thread_local block_pool pool{};

struct pool_drain {
  ~pool_drain();
};
thread_local pool_drain drain;

pool_drain::~pool_drain() {
  while (pool.count > 0)
    delete pool.free[--pool.count];
  pool.closed = true;
}

}  // namespace

std::size_t send_queue::pooled_blocks() noexcept {
  return pool.count;
}

std::size_t send_queue::bytes() const noexcept {
  return q_ ? q_->bytes : 0;
}

send_queue::block& send_queue::take() {
  if (q_) return *q_;
  if (pool.count > 0) {
    q_ = pool.free[--pool.count];
  } else {
    static_cast<void>(&drain);  // odr-used here, so this thread constructs it and drains it
    q_ = new block;
  }
  return *q_;
}

void send_queue::push(std::string_view data) {
  if (data.empty()) return;
  block& b = take();
  b.segments.push_back({std::string(data), nullptr, 0});
  b.bytes += data.size();
}

void send_queue::push(std::string&& data) {
  if (data.empty()) return;
  block& b = take();
  b.bytes += data.size();
  b.segments.push_back({std::move(data), nullptr, 0});
}

void send_queue::push_front(std::string_view data) {
  if (data.empty()) return;
  block& b = take();
  b.bytes += data.size();
  if (b.head > 0) {
    b.segments[--b.head] = {std::string(data), nullptr, 0};
    return;
  }
  b.segments.insert(b.segments.begin(), {std::string(data), nullptr, 0});
}

void send_queue::push(shared_bytes buf, std::size_t offset) {
  if (!buf || offset >= buf->size()) return;
  block& b = take();
  b.bytes += buf->size() - offset;
  b.segments.push_back({{}, std::move(buf), offset});
}

void send_queue::clear() noexcept {
  if (!q_) return;
  block* b = std::exchange(q_, nullptr);
  b->segments.clear();
  b->head = 0;
  b->bytes = 0;
  // A block that a burst grew is not worth keeping; nor more blocks than a loop reuses.
  if (b->segments.capacity() > block_pool::max_segments || pool.count == block_pool::max_blocks ||
      pool.closed) {
    delete b;
    return;
  }
  pool.free[pool.count++] = b;
}

void send_queue::consume(std::size_t n) noexcept {
  block& b = *q_;
  b.bytes -= n;
  while (n > 0) {
    block::segment& s = b.segments[b.head];
    const std::size_t left = s.rest().size();
    if (n < left) {
      s.offset += n;
      return;
    }
    n -= left;
    s = block::segment{};
    ++b.head;
  }
  // A queue that never drains completely must not grow with dead segments at its front.
  if (b.head >= 32 && b.head * 2 >= b.segments.size()) {
    b.segments.erase(b.segments.begin(), b.segments.begin() + static_cast<std::ptrdiff_t>(b.head));
    b.head = 0;
  }
  if (b.head == b.segments.size()) clear();  // drained: the block goes back
}

write_result send_queue::flush(int fd) noexcept {
  write_result total;
  while (q_ != nullptr) {
    iovec iov[64];
    std::size_t n = 0;
    for (std::size_t i = q_->head; i < q_->segments.size() && n < 64; ++i, ++n) {
      const auto r = q_->segments[i].rest();
      iov[n] = {const_cast<char*>(r.data()), r.size()};
    }
    const write_result w = write_vector(fd, iov, n);
    if (w.error || w.blocked) {
      total.blocked = w.blocked;
      total.error = w.error;
      return total;
    }
    total.written += w.written;
    consume(w.written);
  }
  return total;
}

void close_socket(int fd) noexcept {
  int unsent = 0;
  if (::ioctl(fd, SIOCOUTQNSD, &unsent) == 0 && unsent > 0) {
    const linger abort_on_close{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  }
  ::close(fd);
}

}  // namespace duplex::net
