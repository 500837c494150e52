// A connected pair of non-blocking Unix stream sockets for tests of the write path: `a` has a
// small send buffer (so that writes meet a full socket soon), `b` is the peer that reads.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace duplex::test {

struct socket_pair {
  int a = -1, b = -1;
  socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    a = fds[0];
    b = fds[1];
    const int small = 4096;
    ::setsockopt(a, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  }
  ~socket_pair() {
    if (a >= 0) ::close(a);
    ::close(b);
  }
  socket_pair(const socket_pair&) = delete;
  socket_pair& operator=(const socket_pair&) = delete;
  // Hands `a` to an owner that closes it (a stream).
  int release_a() { return std::exchange(a, -1); }
  // Everything `b` can read now.
  std::string drain() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(b, buf, sizeof buf)) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

}  // namespace duplex::test
