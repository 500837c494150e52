// The glue's system calls and TLS steps, reached through one table so that tests can make any of
// them fail (fault injection in the manner of Boost.Beast's fail_count), or stand in for the
// kernel altogether (tests/support/fake_wire.hpp). Internal: not installed.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace duplex::net {

// A step of a tls_session, as a fault hook sees it.
enum class tls_step : std::uint8_t {
  handshake,  // ciphertext fed in while the handshake is under way
  receive,    // ciphertext fed in once it is done
  send,       // plaintext encrypted
};

// Every entry defaults to the real call. The entries are atomic so that a test may swap them
// while loop threads run; an acquire load is a plain load on x86-64 and one instruction on
// AArch64, so the glue pays an indirect call and no lock, allocation or fence beside a syscall.
struct io_calls {
  using recv_fn = ssize_t (*)(int fd, void* buf, std::size_t n, int flags);
  using sendmsg_fn = ssize_t (*)(int fd, const msghdr* msg, int flags);
  using accept4_fn = int (*)(int fd, sockaddr* addr, socklen_t* len, int flags);
  using shutdown_fn = int (*)(int fd, int how);
  // Asked before each step when set: true makes that step fail as a fatal OpenSSL error does.
  using tls_fault_fn = bool (*)(tls_step step);
  // Asked before an io_uring is set up when set: a negative errno makes the setup fail with
  // it, as a kernel that refuses io_uring (or a seccomp filter) does.
  using uring_fault_fn = int (*)();

  std::atomic<recv_fn> recv{&::recv};
  std::atomic<sendmsg_fn> sendmsg{&::sendmsg};
  std::atomic<accept4_fn> accept4{&::accept4};
  std::atomic<shutdown_fn> shutdown{&::shutdown};
  std::atomic<tls_fault_fn> tls_fault{nullptr};
  std::atomic<uring_fault_fn> uring_fault{nullptr};

  // Puts the real calls back (and no TLS or io_uring hook).
  void restore() noexcept {
    recv.store(&::recv, std::memory_order_release);
    sendmsg.store(&::sendmsg, std::memory_order_release);
    accept4.store(&::accept4, std::memory_order_release);
    shutdown.store(&::shutdown, std::memory_order_release);
    tls_fault.store(nullptr, std::memory_order_release);
    uring_fault.store(nullptr, std::memory_order_release);
  }
};

static_assert(std::atomic<io_calls::recv_fn>::is_always_lock_free);

// One table for the process (io_calls.cpp), whether the layers are static or shared.
extern io_calls io;

// What the glue calls instead of the system's functions of the same names.
namespace sys {

inline ssize_t recv(int fd, void* buf, std::size_t n, int flags) {
  return io.recv.load(std::memory_order_acquire)(fd, buf, n, flags);
}

inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  return io.sendmsg.load(std::memory_order_acquire)(fd, msg, flags);
}

inline int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  return io.accept4.load(std::memory_order_acquire)(fd, addr, len, flags);
}

inline int shutdown(int fd, int how) {
  return io.shutdown.load(std::memory_order_acquire)(fd, how);
}

// True when a test's hook fails this step; a null load and a branch otherwise.
inline bool tls_fault(tls_step step) {
  const auto hook = io.tls_fault.load(std::memory_order_acquire);
  return hook != nullptr && hook(step);
}

// 0, or the negative errno a test's hook makes io_uring's setup fail with.
inline int uring_fault() {
  const auto hook = io.uring_fault.load(std::memory_order_acquire);
  return hook != nullptr ? hook() : 0;
}

}  // namespace sys
}  // namespace duplex::net
