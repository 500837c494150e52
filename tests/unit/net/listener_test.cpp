#include "duplex/net/listener.hpp"
#include "support/loopback_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

namespace duplex::net {
namespace {

TEST(Listener, AcceptsOnAnEphemeralPort) {
  event_loop loop;
  std::vector<int> accepted;
  listener l(loop, address::resolve("127.0.0.1", 0), false, [&](int fd, const address& peer) {
    EXPECT_EQ(peer.to_string().rfind("127.0.0.1:", 0), 0u);
    accepted.push_back(fd);
    if (accepted.size() == 3) loop.stop();
  });
  ASSERT_NE(l.port(), 0);
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i)
    clients.push_back(test::connect_loopback(l.port()));
  loop.run();
  EXPECT_EQ(accepted.size(), 3u);
  // Replies are small and must not wait for Nagle: each accepted socket has TCP_NODELAY,
  // whether it came from the listener or was set on it.
  for (int fd : accepted) {
    int on = 0;
    socklen_t len = sizeof on;
    ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    EXPECT_NE(on, 0);
  }
  for (int fd : accepted)
    ::close(fd);
  for (int fd : clients)
    ::close(fd);
}

// With every descriptor in use, pending connections are accepted and dropped instead of waking
// the loop forever, and the listener serves again once descriptors are free: on either
// backend (io_uring's accept ends with EMFILE, and the listener sheds through accept4).
void survives_running_out_of_file_descriptors(io_backend backend) {
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  event_loop loop(loop_options{.io = backend});
  if (loop.backend() != backend) GTEST_SKIP() << "the kernel refuses io_uring";
  std::vector<int> accepted;
  listener l(loop, address::resolve("127.0.0.1", 0), false,
             [&](int fd, const address&) { accepted.push_back(fd); });
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> filler;
  for (int fd; (fd = ::dup(0)) >= 0;)
    filler.push_back(fd);
  ::close(filler.back());  // room for exactly one client socket, none for the accepted end
  filler.pop_back();
  const int first = test::connect_loopback(l.port());
  ASSERT_GE(first, 0);
  int second = -1;
  int third = -1;
  std::uint64_t dropped_while_full = 0;
  loop.add_timer(std::chrono::milliseconds(100), [&] {
    dropped_while_full = l.dropped_for_fd_limit();
    for (int fd : filler)
      ::close(fd);
    filler.clear();
    ::setrlimit(RLIMIT_NOFILE, &old);
    second = test::connect_loopback(l.port());
  });
  // Well after the pause: accepted the way the backend accepts when not at the limit.
  loop.add_timer(std::chrono::milliseconds(300), [&] { third = test::connect_loopback(l.port()); });
  loop.add_timer(std::chrono::milliseconds(400), [&] { loop.stop(); });
  loop.run();
  EXPECT_GE(dropped_while_full, 1u);
  // Only the connections made after descriptors were freed.
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_FALSE(l.paused());
  EXPECT_EQ(l.kernel_accepts(), backend == io_backend::uring) << "accepting as before the limit";
  for (int fd : accepted)
    ::close(fd);
  ::close(first);
  ::close(second);
  ::close(third);
}

TEST(Listener, SurvivesRunningOutOfFileDescriptors) {
#ifdef DUPLEX_SANITIZED
  // The sanitizers' runtime opens files (/proc/self/maps) to check calls; with every descriptor
  // taken it reports false errors. The plain build runs this test.
  GTEST_SKIP() << "needs all file descriptors, which the sanitizer runtime also uses";
#endif
  survives_running_out_of_file_descriptors(io_backend::epoll);
}

TEST(Listener, SurvivesRunningOutOfFileDescriptorsOnIoUring) {
#ifdef DUPLEX_SANITIZED
  GTEST_SKIP() << "needs all file descriptors, which the sanitizer runtime also uses";
#endif
  survives_running_out_of_file_descriptors(io_backend::uring);
}

// io_uring accepts with no accept4 and no address: the listener asks the socket for its peer
// when the handler wants one, and gives an empty one when told it does not.
TEST(Listener, OnIoUringTheKernelAccepts) {
  event_loop loop(loop_options{.io = io_backend::uring});
  if (loop.backend() != io_backend::uring) GTEST_SKIP() << "the kernel refuses io_uring";
  std::vector<int> accepted;
  std::vector<std::string> peers;
  const auto on_accept = [&](int fd, const address& peer) {
    accepted.push_back(fd);
    peers.push_back(peer.length == 0 ? std::string() : peer.to_string());
    if (accepted.size() == 4) loop.stop();
  };
  listener wants(loop, address::resolve("127.0.0.1", 0), false, on_accept);
  listener plain(loop, address::resolve("127.0.0.1", 0), false, on_accept);
  plain.want_peer_address(false);
  EXPECT_TRUE(wants.kernel_accepts());
  EXPECT_TRUE(plain.kernel_accepts());
  std::vector<int> clients;
  for (int i = 0; i < 2; ++i) {
    clients.push_back(test::connect_loopback(wants.port()));
    clients.push_back(test::connect_loopback(plain.port()));
  }
  loop.add_timer(std::chrono::seconds(5), [&] { loop.stop(); });
  loop.run();
  ASSERT_EQ(accepted.size(), 4u);
  EXPECT_EQ(std::count(peers.begin(), peers.end(), std::string()), 2);
  for (const std::string& p : peers)
    EXPECT_TRUE(p.empty() || p.rfind("127.0.0.1:", 0) == 0) << p;
  for (int fd : accepted) {
    int on = 0;
    socklen_t len = sizeof on;
    ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    EXPECT_NE(on, 0);
    ::close(fd);
  }
  for (int fd : clients)
    ::close(fd);
}

// Whether `fd`'s peer closed: the end of the stream (or a reset) within a second.
bool peer_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for (int fd = 0; fd < 4096; ++fd)
    n += ::fcntl(fd, F_GETFD) >= 0 ? 1 : 0;
  return n;
}

// The kernel accepted connections the listener never took: closing the listener closes them
// (their peers see the end, no descriptor leaks), whether they were filed for it already or
// still waited in the kernel's completion queue.
TEST(Listener, ConnectionsTheKernelAcceptedForAClosedListenerAreClosed) {
  event_loop loop(loop_options{.io = io_backend::uring});
  if (loop.backend() != io_backend::uring) GTEST_SKIP() << "the kernel refuses io_uring";
  const std::size_t before = open_descriptors();
  std::vector<int> clients;
  int taken = 0;
  std::unique_ptr<listener> l;
  l = std::make_unique<listener>(loop, address::resolve("127.0.0.1", 0), false,
                                 [&](int fd, const address&) {
                                   ++taken;
                                   ::close(fd);
                                   l->close();  // with the others filed behind this one
                                 });
  for (int i = 0; i < 5; ++i)
    clients.push_back(test::connect_loopback(l->port()));
  loop.add_timer(std::chrono::milliseconds(50), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(taken, 1);
  // Still in the kernel's queue: a second listener, closed before any wait reaps them.
  auto second = std::make_unique<listener>(loop, address::resolve("127.0.0.1", 0), false,
                                           [&](int fd, const address&) { ::close(fd); });
  loop.add_timer(std::chrono::milliseconds(1), [&] { loop.stop(); });
  loop.run();  // the accept is armed
  for (int i = 0; i < 3; ++i)
    clients.push_back(test::connect_loopback(second->port()));
  second.reset();  // its cancellation makes the kernel finish (and report) what it accepted
  loop.add_timer(std::chrono::milliseconds(20), [&] { loop.stop(); });
  loop.run();
  for (int fd : clients) {
    EXPECT_TRUE(peer_closed(fd));
    ::close(fd);
  }
  l.reset();
  EXPECT_EQ(open_descriptors(), before);
}

}  // namespace
}  // namespace duplex::net
