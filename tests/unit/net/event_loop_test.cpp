#include "duplex/net/event_loop.hpp"

#include <gtest/gtest.h>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace duplex::net {
namespace {

TEST(EventLoop, PostFromOtherThreadsRunsOnTheLoopInOrder) {
  event_loop loop;
  std::vector<int> seen;
  std::thread::id loop_thread;
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    loop.run();
  });
  for (int i = 0; i < 1000; ++i) {
    loop.post([&, i] {
      EXPECT_TRUE(loop.in_loop_thread());
      seen.push_back(i);
      if (i == 999) loop.stop();
    });
  }
  runner.join();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCanBeCancelled) {
  event_loop loop;
  std::vector<int> order;
  loop.add_timer(std::chrono::milliseconds(30), [&] { order.push_back(30); });
  loop.add_timer(std::chrono::milliseconds(10), [&] { order.push_back(10); });
  const auto cancelled =
      loop.add_timer(std::chrono::milliseconds(20), [&] { order.push_back(20); });
  loop.cancel_timer(cancelled);
  loop.add_timer(std::chrono::milliseconds(50), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{10, 30}));
}

TEST(EventLoop, RunsAgainAfterAStop) {
  event_loop loop;
  int phases = 0;
  for (int i = 0; i < 3; ++i) {
    loop.add_timer(std::chrono::milliseconds(5), [&] {
      ++phases;
      loop.stop();
    });
    loop.run();
  }
  EXPECT_EQ(phases, 3);
}

TEST(EventLoop, PeriodicTimerRepeatsUntilCancelled) {
  event_loop loop;
  int ticks = 0;
  timer_id id = 0;
  id = loop.add_timer(
      std::chrono::milliseconds(2),
      [&] {
        if (++ticks == 5) {
          loop.cancel_timer(id);
          loop.add_timer(std::chrono::milliseconds(20), [&] { loop.stop(); });
        }
      },
      true);
  loop.run();
  EXPECT_EQ(ticks, 5);
}

TEST(EventLoop, IterationEndHooksRunEveryIteration) {
  event_loop loop;
  int runs = 0;
  int ticks = 0;
  // A periodic timer guarantees further iterations however slowly this machine runs.
  loop.add_timer(
      std::chrono::milliseconds(1), [&] { ++ticks; }, true);
  loop.on_iteration_end([&] {
    if (++runs == 3) loop.stop();
  });
  loop.run();
  EXPECT_EQ(runs, 3);
  EXPECT_GE(ticks, 2);
}

TEST(EventLoop, StopFromAnotherThreadWakesABlockedWait) {
  event_loop loop;
  std::thread runner([&] { loop.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto start = std::chrono::steady_clock::now();
  loop.stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// Readable once, and throws from its handler.
class throwing_handler final : public io_handler {
 public:
  throwing_handler() : fd_(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~throwing_handler() { ::close(fd_); }
  int fd() const { return fd_; }
  void on_io(net::io_events) override {
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(fd_, &v, sizeof v);
    throw std::runtime_error("handler");
  }

 private:
  int fd_;
};

TEST(EventLoop, AnExceptionFromAnyKindOfWorkIsReportedAndTheLoopGoesOn) {
  event_loop loop;
  std::vector<std::string> seen;
  loop.on_exception([&](std::string_view what) { seen.emplace_back(what); });
  throwing_handler h;
  loop.add(h.fd(), net::io_events::readable, &h);
  loop.post([] { throw std::runtime_error("posted"); });
  bool after_posted = false;
  loop.post([&] { after_posted = true; });  // the rest of the batch still runs
  loop.add_timer(std::chrono::milliseconds(1), [] { throw std::logic_error("timer"); });
  int periodic = 0;
  loop.add_timer(
      std::chrono::milliseconds(1),
      [&] {
        if (++periodic <= 2) throw 42;  // not even a std::exception
      },
      true);
  bool ended = false;
  loop.on_iteration_end([&] {
    if (ended) return;
    ended = true;
    throw std::runtime_error("iteration end");
  });
  // Stops once everything has happened, not after a fixed time: a busy machine may run a 1 ms
  // timer only a few times in 30 ms. The 5 s bound only ends a failing run.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  loop.add_timer(
      std::chrono::milliseconds(1),
      [&] {
        if ((periodic >= 3 && ended && after_posted) || std::chrono::steady_clock::now() > give_up)
          loop.stop();
      },
      true);
  loop.run();
  loop.remove(h.fd());
  EXPECT_TRUE(after_posted);
  EXPECT_GE(periodic, 3) << "a periodic timer that threw keeps its period";
  EXPECT_EQ(loop.exception_count(), 6u);
  const std::vector<std::string> expected{"handler", "posted", "timer", "iteration end"};
  for (const auto& e : expected)
    EXPECT_NE(std::find(seen.begin(), seen.end(), e), seen.end()) << e;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "an exception of unknown type"), 2);
}

// A socket closed inside run() is closed by the end of that iteration (io_uring queues the
// close for the iteration's wait), and one closed in the iteration that stops the loop is
// closed when run() returns, not at the next run().
TEST(EventLoop, ASocketClosedInsideRunIsClosedByTheIterationsEnd) {
  for (const io_backend b : {io_backend::epoll, io_backend::uring}) {
    event_loop loop(loop_options{.io = b});
    SCOPED_TRACE(std::string(to_string(loop.backend())));
    int first[2];
    int last[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, first), 0);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, last), 0);
    struct quiet final : io_handler {
      void on_io(io_events) override {}
    } h;
    loop.add(first[0], io_events::readable, &h);
    loop.add(last[0], io_events::readable, &h);
    char c;
    ssize_t seen_later = -2;
    loop.add_timer(std::chrono::milliseconds(1), [&] { loop.close(first[0]); });
    loop.add_timer(std::chrono::milliseconds(20),
                   [&] { seen_later = ::recv(first[1], &c, 1, MSG_DONTWAIT); });
    loop.add_timer(std::chrono::milliseconds(30), [&] {
      loop.close(last[0]);
      loop.stop();
    });
    loop.run();
    EXPECT_EQ(seen_later, 0) << "the end of the stream";
    EXPECT_EQ(::recv(last[1], &c, 1, MSG_DONTWAIT), 0) << "the end of the stream";
    ::close(first[1]);
    ::close(last[1]);
    // Outside run() no wait is coming: closed at once.
    int outside[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, outside), 0);
    loop.add(outside[0], io_events::readable, &h);
    loop.close(outside[0]);
    EXPECT_EQ(::recv(outside[1], &c, 1, MSG_DONTWAIT), 0) << "the end of the stream";
    ::close(outside[1]);
  }
}

}  // namespace
}  // namespace duplex::net
