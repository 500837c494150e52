// The server's API used as a newcomer would: timers without knowing the loops, clear messages
// for calls made too early, and a port that is not silently shared.
#include <gtest/gtest.h>

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "duplex/net/event_loop.hpp"
#include "support/test_client.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

TEST(ServerApi, PostBeforeListenSaysWhatToDo) {
  server s;
  try {
    s.post(0, [] {});
    FAIL() << "post before listen() was accepted";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("listen()"), std::string::npos) << e.what();
  }
  s.listen();
  EXPECT_THROW(s.post(3, [] {}), std::logic_error);
  EXPECT_THROW(s.loop(1), std::logic_error);
}

// Whether this kernel lets the process set up an io_uring at all.
bool kernel_allows_io_uring() {
  io_uring_params p{};
  const long fd = ::syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) return false;
  ::close(static_cast<int>(fd));
  return true;
}

// server_options::io reaches every loop, whatever DUPLEX_IO says.
TEST(ServerApi, TheIoBackendAskedForIsTheLoopsOne) {
  const bool uring = kernel_allows_io_uring();
  for (const auto b : {net::io_backend::epoll, net::io_backend::uring}) {
    server_options o;
    o.handle_signals = false;
    o.threads = 2;
    o.io = b;
    server s(o);
    s.listen();
    // A kernel that refuses io_uring leaves the loops on epoll (net/io_backend_test.cpp).
    const auto expected = b == net::io_backend::uring && !uring ? net::io_backend::epoll : b;
    for (unsigned i = 0; i < 2; ++i)
      EXPECT_EQ(s.loop(i).backend(), expected) << i;
  }
}

TEST(ServerApi, TimersBeforeRunAndFromAnotherThreadWhileRunning) {
  server_options o;
  o.handle_signals = false;
  server s(o);
  std::atomic<int> once{0};
  std::atomic<int> ticks{0};
  std::atomic<int> later{0};
  s.after(10ms, [&] { ++once; });  // before listen() and run()
  s.every(5ms, [&] { ++ticks; });
  std::thread running([&] { s.run(); });
  EXPECT_TRUE(eventually([&] { return once == 1 && ticks >= 3; }));
  s.after(1ms, [&] { ++later; });  // from this thread while the loop runs
  EXPECT_TRUE(eventually([&] { return later == 1; }));
  s.shutdown();
  running.join();
  EXPECT_EQ(once, 1);
}

TEST(ServerApi, ASecondServerDoesNotSilentlyShareAPort) {
  server_options o;
  o.threads = 2;
  o.handle_signals = false;
  server first(o);
  first.listen();
  o.port = first.port();
  server second(o);
  try {
    second.listen();
    FAIL() << "a second server joined the port";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("share_port"), std::string::npos) << e.what();
  }
  server_options shared = o;
  shared.share_port = true;  // asked for: both listen (the kernel spreads connections)
  server third(shared);
  EXPECT_NO_THROW(third.listen());
}

}  // namespace
}  // namespace duplex
