// A descriptor that is not a socket, standing in for one: the glue's recv, sendmsg and shutdown
// on it go through the io_calls table to a script, so a server connection (net::stream and all
// above it) runs with no network, one loop iteration at a time.
#pragma once

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "net/io_calls.hpp"

namespace duplex::test {

class fake_wire {
 public:
  // An eventfd gives the loop something to wait on: readable while the script holds input,
  // always writable.
  fake_wire() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    current() = this;
    net::io.recv.store(&fake_recv, std::memory_order_release);
    net::io.sendmsg.store(&fake_sendmsg, std::memory_order_release);
    net::io.shutdown.store(&fake_shutdown, std::memory_order_release);
  }
  ~fake_wire() {
    net::io.restore();
    current() = nullptr;
  }
  fake_wire(const fake_wire&) = delete;
  fake_wire& operator=(const fake_wire&) = delete;

  // Handed to the server, which closes it when it is done with the connection.
  int fd() const { return fd_; }
  // The peer sends `bytes` next.
  void feed(std::string_view bytes) {
    input_ += bytes;
    signal();
  }
  // The peer's FIN, once what was fed has been read.
  void end() {
    eof_ = true;
    signal();
  }
  // Everything the server wrote since the last call.
  std::string take_output() { return std::exchange(output_, {}); }
  // While set, sendmsg says EAGAIN: the kernel's buffer is full.
  void refuse_writes(bool on) { refusing_ = on; }
  bool write_shut() const { return shut_wr_; }
  // Bytes fed that the server has not read yet.
  std::size_t unread() const { return input_.size(); }
  bool read_shut() const { return shut_rd_; }
  std::size_t writes() const { return writes_; }

 private:
  static fake_wire*& current() {
    static fake_wire* w = nullptr;
    return w;
  }
  void signal() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  void unsignal() {
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(fd_, &v, sizeof v);
  }

  static ssize_t fake_recv(int fd, void* buf, std::size_t n, int flags) {
    fake_wire* w = current();
    if (w == nullptr || fd != w->fd_) return ::recv(fd, buf, n, flags);
    if (w->input_.empty()) {
      if (w->eof_ || w->shut_rd_) return 0;
      w->unsignal();
      errno = EAGAIN;
      return -1;
    }
    const std::size_t k = std::min(n, w->input_.size());
    std::memcpy(buf, w->input_.data(), k);
    w->input_.erase(0, k);
    if (w->input_.empty() && !w->eof_) w->unsignal();
    return static_cast<ssize_t>(k);
  }

  static ssize_t fake_sendmsg(int fd, const msghdr* msg, int flags) {
    fake_wire* w = current();
    if (w == nullptr || fd != w->fd_) return ::sendmsg(fd, msg, flags);
    if (w->shut_wr_) {
      errno = EPIPE;
      return -1;
    }
    if (w->refusing_) {
      errno = EAGAIN;
      return -1;
    }
    ++w->writes_;
    std::size_t total = 0;
    for (std::size_t i = 0; i < msg->msg_iovlen; ++i) {
      w->output_.append(static_cast<const char*>(msg->msg_iov[i].iov_base),
                        msg->msg_iov[i].iov_len);
      total += msg->msg_iov[i].iov_len;
    }
    return static_cast<ssize_t>(total);
  }

  static int fake_shutdown(int fd, int how) {
    fake_wire* w = current();
    if (w == nullptr || fd != w->fd_) return ::shutdown(fd, how);
    if (how == SHUT_WR || how == SHUT_RDWR) w->shut_wr_ = true;
    if (how == SHUT_RD || how == SHUT_RDWR) {
      w->shut_rd_ = true;
      w->signal();  // as a socket would, the end is readable at once
    }
    return 0;
  }

  int fd_;
  std::string input_;
  std::string output_;
  bool eof_ = false;
  bool refusing_ = false;
  bool shut_wr_ = false;
  bool shut_rd_ = false;
  std::size_t writes_ = 0;
};

}  // namespace duplex::test
