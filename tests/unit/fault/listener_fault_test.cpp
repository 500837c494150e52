// The listener at EMFILE: Linux reports it before looking at the queue, so it comes with no
// connection pending as well, and must not be counted (or logged) as a dropped connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/net/listener.hpp"
#include "fail_count.hpp"
#include "support/loopback_listener.hpp"

namespace duplex::net {
namespace {

using namespace std::chrono_literals;

// Found by the glue walk: the second accept4 of a wake-up (the one that would say EAGAIN) fails
// with EMFILE. The connection was accepted; nothing was dropped.
TEST(ListenerFaults, EmfileWithNothingPendingDropsNothing) {
  // Installed first: a listener that finds accept4 hooked accepts on readiness, with accept4
  // (on io_uring too), so every call is seen.
  test::fault_plan plan;
  plan.calls = test::call_accept4;
  plan.nth = 2;
  plan.accept_errno = EMFILE;
  test::fail_count fc(plan);
  event_loop loop;
  std::vector<int> accepted;
  listener l(loop, address::resolve("127.0.0.1", 0), false,
             [&](int fd, const address&) { accepted.push_back(fd); });
  EXPECT_FALSE(l.kernel_accepts());
  const int client = test::connect_loopback(l.port());
  ASSERT_GE(client, 0);
  loop.add_timer(50ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_TRUE(fc.fired());
  EXPECT_EQ(accepted.size(), 1u);
  EXPECT_EQ(l.dropped_for_fd_limit(), 0u);
  for (int fd : accepted)
    ::close(fd);
  ::close(client);
}

std::atomic<int> accept_calls{0};

int counting_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  ++accept_calls;
  return ::accept4(fd, addr, len, flags);
}

// Real exhaustion: one connection arrives when no descriptor is left. It is dropped, once, and
// the wake-up ends there instead of asking the kernel 256 times and counting 256 drops.
TEST(ListenerFaults, OneConnectionAtTheLimitIsOneDrop) {
#ifdef DUPLEX_SANITIZED
  GTEST_SKIP() << "needs all file descriptors, which the sanitizer runtime also uses";
#endif
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  event_loop loop;
  std::vector<int> accepted;
  listener l(loop, address::resolve("127.0.0.1", 0), false,
             [&](int fd, const address&) { accepted.push_back(fd); });
  accept_calls = 0;
  io.accept4.store(&counting_accept4);
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> filler;
  for (int fd; (fd = ::dup(0)) >= 0;)
    filler.push_back(fd);
  ::close(filler.back());  // room for the client's socket, none for the accepted end
  filler.pop_back();
  const int client = test::connect_loopback(l.port());
  loop.add_timer(50ms, [&] { loop.stop(); });
  loop.run();
  for (int fd : filler)
    ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  io.restore();
  ASSERT_GE(client, 0);
  EXPECT_EQ(l.dropped_for_fd_limit(), 1u);
  EXPECT_TRUE(accepted.empty());
  // EMFILE, the shedding accept, EMFILE again, a shedding accept that finds nothing.
  EXPECT_LE(accept_calls.load(), 4);
  ::close(client);
}

// A burst at the limit: ten connections arrive with no descriptor left. They are dropped, the
// listener stops asking the kernel for a while instead of waking on every arrival, and one log
// line with the count says so once descriptors are free again and accepting works.
TEST(ListenerFaults, ABurstAtTheLimitIsOnePauseAndOneLine) {
#ifdef DUPLEX_SANITIZED
  GTEST_SKIP() << "needs all file descriptors, which the sanitizer runtime also uses";
#endif
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  event_loop loop;
  std::vector<int> accepted;
  std::vector<std::string> lines;
  listener l(loop, address::resolve("127.0.0.1", 0), false,
             [&](int fd, const address&) { accepted.push_back(fd); });
  l.on_log([&](std::string_view line) { lines.emplace_back(line); });
  accept_calls = 0;
  io.accept4.store(&counting_accept4);
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> filler;
  for (int fd; (fd = ::dup(0)) >= 0;)
    filler.push_back(fd);
  std::vector<int> clients;
  for (int i = 0; i < 10; ++i) {  // room for the clients' ends, none for the accepted ones
    ::close(filler.back());
    filler.pop_back();
    clients.push_back(test::connect_loopback(l.port()));
  }
  const auto run_for = [&](std::chrono::milliseconds d) {
    loop.add_timer(d, [&] { loop.stop(); });
    loop.run();
  };
  run_for(50ms);
  EXPECT_EQ(l.dropped_for_fd_limit(), 10u);
  EXPECT_TRUE(l.paused());
  const int calls_at_first = accept_calls.load();
  EXPECT_LE(calls_at_first, 22);  // EMFILE and a shedding accept per drop, then nothing pending
  run_for(250ms);  // still at the limit: a probe and a shed per pause, nothing per arrival
  EXPECT_LE(accept_calls.load() - calls_at_first, 3 * 2 + 2);
  EXPECT_TRUE(lines.empty()) << "the burst is not over";
  for (int fd : filler)
    ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  const int late = test::connect_loopback(l.port());
  run_for(200ms);
  io.restore();
  EXPECT_EQ(accepted.size(), 1u) << "accepting again once descriptors are free";
  EXPECT_FALSE(l.paused());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("dropped 10 connections"), std::string::npos) << lines[0];
  for (int fd : accepted)
    ::close(fd);
  for (int fd : clients)
    ::close(fd);
  ::close(late);
}

}  // namespace
}  // namespace duplex::net
