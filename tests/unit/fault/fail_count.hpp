// Makes the Nth call of the network glue fail, after Boost.Beast's fail_count: a test walks
// N = 1, 2, 3... through a scripted exchange until N passes the number of calls it makes.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <thread>

#include "net/io_calls.hpp"

namespace duplex::test {

// The calls a fail_count counts, as bits.
enum call : unsigned {
  call_recv = 1u << 0,
  call_sendmsg = 1u << 1,
  call_accept4 = 1u << 2,
  call_tls_handshake = 1u << 3,
  call_tls_receive = 1u << 4,
  call_tls_send = 1u << 5,
  call_tls = call_tls_handshake | call_tls_receive | call_tls_send,
  call_any = call_recv | call_sendmsg | call_accept4 | call_tls,
};

inline const char* call_name(unsigned c) {
  switch (c) {
    case call_recv:
      return "recv";
    case call_sendmsg:
      return "sendmsg";
    case call_accept4:
      return "accept4";
    case call_tls_handshake:
      return "TLS handshake";
    case call_tls_receive:
      return "TLS receive";
    case call_tls_send:
      return "TLS send";
    default:
      return "none";
  }
}

// A send_errno that is no error: sendmsg writes half the bytes (at least one) and says so.
inline constexpr int partial_write = -1;

// Which threads' calls are counted: a test keeps its own peer's calls (or the server's) out.
enum class thread_filter { any, only, all_but };

struct fault_plan {
  unsigned calls = call_any;    // the kinds counted; the others pass untouched
  std::size_t nth = 1;          // the first counted call that fails, from 1
  bool sticky = false;          // every counted call from the nth on fails, not only the nth
  int recv_errno = ECONNRESET;  // 0: recv answers 0, the end of the stream
  int send_errno = EPIPE;       // or EAGAIN (nothing written), or partial_write
  int later_send_errno = 0;     // sticky: the sendmsg failures after the first (0: send_errno)
  int accept_errno = EMFILE;
  thread_filter filter = thread_filter::any;
  std::thread::id thread{};  // for only and all_but
};

namespace fault_detail {

// One plan at a time for the process: the glue's table holds plain function pointers.
struct state {
  std::atomic<unsigned> calls{0};
  std::atomic<std::size_t> nth{0};
  std::atomic<bool> sticky{false};
  std::atomic<int> recv_errno{0}, send_errno{0}, later_send_errno{0}, accept_errno{0};
  std::atomic<thread_filter> filter{thread_filter::any};
  std::atomic<std::thread::id> thread{};
  std::atomic<bool> armed{false};
  std::atomic<std::size_t> counted{0};
  std::atomic<unsigned> fired{0};  // the kind of the first call failed
  std::atomic<std::size_t> failures{0};
};
inline state current;

inline bool counts_here() {
  const auto f = current.filter.load();
  if (f == thread_filter::any) return true;
  const bool same = std::this_thread::get_id() == current.thread.load();
  return f == thread_filter::only ? same : !same;
}

// True when this call is one to fail.
inline bool hit(unsigned kind) {
  if (!current.armed.load() || (current.calls.load() & kind) == 0 || !counts_here()) return false;
  const std::size_t i = current.counted.fetch_add(1) + 1;
  const std::size_t nth = current.nth.load();
  if (current.sticky ? i < nth : i != nth) return false;
  if (current.failures.fetch_add(1) == 0) current.fired = kind;
  return true;
}

inline ssize_t recv(int fd, void* buf, std::size_t n, int flags) {
  if (!hit(call_recv)) return ::recv(fd, buf, n, flags);
  if (current.recv_errno == 0) return 0;
  errno = current.recv_errno;
  return -1;
}

inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  if (!hit(call_sendmsg)) return ::sendmsg(fd, msg, flags);
  const int later = current.later_send_errno;
  const int err = current.failures > 1 && later != 0 ? later : current.send_errno.load();
  if (err != partial_write) {
    errno = err;
    return -1;
  }
  // The kernel took only part: the first half of the bytes really goes out, the rest must wait.
  // At least one byte, so that partial writes from some call on still make progress.
  std::size_t total = 0;
  for (std::size_t i = 0; i < msg->msg_iovlen; ++i)
    total += msg->msg_iov[i].iov_len;
  std::size_t left = std::max<std::size_t>(total / 2, 1);
  iovec part[64];
  std::size_t k = 0;
  for (std::size_t i = 0; i < msg->msg_iovlen && left > 0 && k < 64; ++i, ++k) {
    part[k] = msg->msg_iov[i];
    part[k].iov_len = std::min(part[k].iov_len, left);
    left -= part[k].iov_len;
  }
  msghdr shorter = *msg;
  shorter.msg_iov = part;
  shorter.msg_iovlen = k;
  return ::sendmsg(fd, &shorter, flags);
}

inline int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (!hit(call_accept4)) return ::accept4(fd, addr, len, flags);
  errno = current.accept_errno;
  return -1;
}

inline bool tls_fault(net::tls_step step) {
  switch (step) {
    case net::tls_step::handshake:
      return hit(call_tls_handshake);
    case net::tls_step::receive:
      return hit(call_tls_receive);
    case net::tls_step::send:
      return hit(call_tls_send);
  }
  return false;
}

}  // namespace fault_detail

// Installs the plan for its lifetime and puts the real calls back after.
class fail_count {
 public:
  explicit fail_count(const fault_plan& p) {
    auto& s = fault_detail::current;
    s.calls = p.calls;
    s.nth = p.nth;
    s.sticky = p.sticky;
    s.recv_errno = p.recv_errno;
    s.send_errno = p.send_errno;
    s.later_send_errno = p.later_send_errno;
    s.accept_errno = p.accept_errno;
    s.filter = p.filter;
    s.thread = p.thread;
    s.counted = 0;
    s.fired = 0;
    s.failures = 0;
    s.armed = true;
    net::io.recv.store(&fault_detail::recv, std::memory_order_release);
    net::io.sendmsg.store(&fault_detail::sendmsg, std::memory_order_release);
    net::io.accept4.store(&fault_detail::accept4, std::memory_order_release);
    net::io.tls_fault.store(&fault_detail::tls_fault, std::memory_order_release);
  }
  ~fail_count() {
    disarm();
    net::io.restore();
  }
  fail_count(const fail_count&) = delete;
  fail_count& operator=(const fail_count&) = delete;

  // Stops counting and failing: every later call runs as it would.
  void disarm() noexcept { fault_detail::current.armed = false; }
  bool fired() const noexcept { return fault_detail::current.fired != 0; }
  // The kind of the first call that failed (a `call` bit), 0 if none did.
  unsigned fired_call() const noexcept { return fault_detail::current.fired; }
  std::size_t failures() const noexcept { return fault_detail::current.failures; }
  // Calls counted so far.
  std::size_t counted() const noexcept { return fault_detail::current.counted; }
};

}  // namespace duplex::test
