// Both I/O backends keep the loop's readiness contract; the choice, the environment override
// and the fallback from io_uring to epoll.
#include <gtest/gtest.h>

#include <linux/io_uring.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "duplex/net/event_loop.hpp"
#include "net/io_calls.hpp"

namespace duplex::net {
namespace {

// Whether this kernel lets the process set up an io_uring at all.
bool kernel_allows_io_uring() {
  io_uring_params p{};
  const long fd = ::syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) return false;
  ::close(static_cast<int>(fd));
  return true;
}

struct pair_of_sockets {
  pair_of_sockets() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) != 0)
      throw std::runtime_error("socketpair");
  }
  ~pair_of_sockets() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  int fd[2];
};

struct handler final : io_handler {
  std::function<void(io_events)> fn;
  void on_io(io_events e) override { fn(e); }
};

class Backend : public testing::TestWithParam<io_backend> {
 protected:
  loop_options options() const {
    loop_options o;
    o.io = GetParam();
    return o;
  }
};

TEST_P(Backend, IsTheOneAskedFor) {
  event_loop loop(options());
  if (GetParam() == io_backend::uring && !kernel_allows_io_uring()) GTEST_SKIP();
  EXPECT_EQ(loop.backend(), GetParam());
}

// Level-triggered: a handler that reads one byte per report is reported again until the
// socket is empty, without any new input.
TEST_P(Backend, ReadinessLeftUnreadIsReportedAgain) {
  event_loop loop(options());
  pair_of_sockets s;
  ASSERT_EQ(::write(s.fd[1], "0123456789", 10), 10);
  std::string got;
  handler h;
  h.fn = [&](io_events e) {
    ASSERT_TRUE(has(e, io_events::readable));
    char c;
    if (::read(s.fd[0], &c, 1) == 1) got += c;
    if (got.size() == 10) {
      loop.remove(s.fd[0]);
      loop.stop();
    }
  };
  loop.add(s.fd[0], io_events::readable, &h);
  loop.add_timer(std::chrono::seconds(5), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(got, "0123456789");
}

TEST_P(Backend, ModifyChangesWhatIsReported) {
  event_loop loop(options());
  pair_of_sockets s;
  int writable = 0;
  handler h;
  h.fn = [&](io_events e) {
    EXPECT_FALSE(has(e, io_events::readable));
    if (has(e, io_events::writable) && ++writable == 3) {
      loop.modify(s.fd[0], io_events::readable, &h);
      // Nothing to read: the next report can only be the input written below.
      loop.post([&] { ASSERT_EQ(::write(s.fd[1], "x", 1), 1); });
      h.fn = [&](io_events e2) {
        EXPECT_TRUE(has(e2, io_events::readable));
        EXPECT_FALSE(has(e2, io_events::writable));
        loop.remove(s.fd[0]);
        loop.stop();
      };
    }
  };
  // Registered without interest first: nothing is reported for an idle, healthy socket.
  loop.add(s.fd[0], io_events::none, &h);
  loop.add_timer(std::chrono::milliseconds(20),
                 [&] { loop.modify(s.fd[0], io_events::writable, &h); });
  loop.add_timer(std::chrono::seconds(5), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(writable, 3);
}

TEST_P(Backend, AHangUpIsReportedWhateverTheInterest) {
  event_loop loop(options());
  pair_of_sockets s;
  io_events seen = io_events::none;
  handler h;
  h.fn = [&](io_events e) {
    seen = e;
    loop.remove(s.fd[0]);
    loop.stop();
  };
  loop.add(s.fd[0], io_events::none, &h);
  loop.post([&] { ::close(std::exchange(s.fd[1], -1)); });
  loop.add_timer(std::chrono::seconds(5), [&] { loop.stop(); });
  loop.run();
  EXPECT_TRUE(has(seen, io_events::hangup)) << static_cast<unsigned>(seen);
}

// The peer sees the end at once, without the loop running again: no request in the kernel
// keeps the file open past remove().
TEST_P(Backend, RemoveThenCloseClosesTheSocketAtOnce) {
  event_loop loop(options());
  pair_of_sockets s;
  handler h;
  h.fn = [](io_events) {};
  loop.add(s.fd[0], io_events::readable, &h);
  loop.add_timer(std::chrono::milliseconds(1), [&] { loop.stop(); });
  loop.run();  // the registration reaches the kernel
  loop.remove(s.fd[0]);
  ::close(std::exchange(s.fd[0], -1));
  char c;
  EXPECT_EQ(::read(s.fd[1], &c, 1), 0);
}

// epoll forgets a descriptor closed without remove(); io_uring must not report the old
// socket's readiness to the handler that the reused number was registered with next.
TEST_P(Backend, ANumberReusedAfterACloseReachesOnlyItsNewHandler) {
  event_loop loop(options());
  auto first = std::make_unique<pair_of_sockets>();
  int old_calls = 0;
  handler old_h;
  old_h.fn = [&](io_events) { ++old_calls; };
  loop.add(first->fd[0], io_events::readable, &old_h);
  loop.add_timer(std::chrono::milliseconds(1), [&] { loop.stop(); });
  loop.run();
  const int number = first->fd[0];
  ::close(std::exchange(first->fd[0], -1));
  pair_of_sockets second;
  ASSERT_EQ(second.fd[0], number) << "the test needs the number reused";
  handler new_h;
  std::string got;
  new_h.fn = [&](io_events) {
    char buf[8];
    const ssize_t n = ::read(second.fd[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << "reported without input of its own";
    got.append(buf, static_cast<std::size_t>(n));
    loop.remove(second.fd[0]);
    loop.stop();
  };
  loop.add(second.fd[0], io_events::readable, &new_h);
  // The old socket is gone under epoll (no SIGPIPE for the write to its peer), alive under
  // io_uring until the registration of the new one cancels its poll.
  ::send(first->fd[1], "old", 3, MSG_NOSIGNAL);
  loop.add_timer(std::chrono::milliseconds(30),
                 [&] { ASSERT_EQ(::write(second.fd[1], "new", 3), 3); });
  loop.add_timer(std::chrono::seconds(5), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(old_calls, 0);
  EXPECT_EQ(got, "new");
}

TEST_P(Backend, PostFromAnotherThreadWakesAWaitWithoutTimers) {
  event_loop loop(options());
  int ran = 0;
  std::thread poster([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    loop.post([&] {
      ++ran;
      loop.stop();
    });
  });
  loop.run();
  poster.join();
  EXPECT_EQ(ran, 1);
}

INSTANTIATE_TEST_SUITE_P(IoBackends, Backend, testing::Values(io_backend::epoll, io_backend::uring),
                         [](const testing::TestParamInfo<io_backend>& i) {
                           return std::string(to_string(i.param));
                         });

TEST(IoBackend, NamesParseAndPrint) {
  io_backend b = io_backend::epoll;
  EXPECT_TRUE(parse_io_backend("uring", b));
  EXPECT_EQ(b, io_backend::uring);
  EXPECT_TRUE(parse_io_backend("io_uring", b));
  EXPECT_EQ(b, io_backend::uring);
  EXPECT_TRUE(parse_io_backend("auto", b));
  EXPECT_EQ(b, io_backend::automatic);
  EXPECT_TRUE(parse_io_backend("epoll", b));
  EXPECT_EQ(b, io_backend::epoll);
  EXPECT_FALSE(parse_io_backend("kqueue", b));
  EXPECT_FALSE(parse_io_backend("", b));
  EXPECT_EQ(to_string(io_backend::uring), "uring");
}

// Automatic follows DUPLEX_IO, which is how the suite runs on either backend; a loop asked for
// one by name ignores it.
TEST(IoBackend, AutomaticFollowsTheEnvironment) {
  const char* before = std::getenv("DUPLEX_IO");
  const std::string saved = before ? before : "";
  ::setenv("DUPLEX_IO", "uring", 1);
  {
    event_loop automatic;
    EXPECT_EQ(automatic.backend(),
              kernel_allows_io_uring() ? io_backend::uring : io_backend::epoll);
    loop_options o;
    o.io = io_backend::epoll;
    EXPECT_EQ(event_loop(o).backend(), io_backend::epoll);
  }
  ::setenv("DUPLEX_IO", "epoll", 1);
  EXPECT_EQ(event_loop().backend(), io_backend::epoll);
  if (before) {
    ::setenv("DUPLEX_IO", saved.c_str(), 1);
  } else {
    ::unsetenv("DUPLEX_IO");
  }
}

// The suite's run with DUPLEX_IO=uring (ctest --preset release-uring) tests io_uring, not an
// epoll that the loops fell back to unnoticed.
TEST(IoBackend, TheSuiteRunsOnTheBackendDuplexIoNames) {
  const char* v = std::getenv("DUPLEX_IO");
  io_backend named = io_backend::automatic;
  if (v == nullptr || !parse_io_backend(v, named) || named == io_backend::automatic)
    named = io_backend::epoll;
  if (named == io_backend::uring && !kernel_allows_io_uring()) named = io_backend::epoll;
  EXPECT_EQ(event_loop().backend(), named) << "DUPLEX_IO=" << (v ? v : "(unset)");
}

// A kernel that refuses io_uring (seccomp, the io_uring_disabled sysctl, too old) leaves the
// loop on epoll, and the process says so in one line however many loops it makes. In a child
// process: the line is said once per process.
TEST(IoBackend, RefusedIoUringFallsBackToEpollWithOneLine) {
  EXPECT_EXIT(
      {
        io.uring_fault.store([] { return -ENOSYS; });
        std::FILE* out = std::tmpfile();
        if (out == nullptr || ::dup2(::fileno(out), STDERR_FILENO) < 0) std::_Exit(2);
        loop_options o;
        o.io = io_backend::uring;
        bool all_epoll = true;
        for (int i = 0; i < 3; ++i) {
          event_loop loop(o);
          all_epoll = all_epoll && loop.backend() == io_backend::epoll;
          // The fallback loop works.
          loop.post([&] { loop.stop(); });
          loop.run();
        }
        std::string err(4096, '\0');
        const ssize_t n = ::pread(::fileno(out), err.data(), err.size(), 0);
        err.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        const auto lines = std::count(err.begin(), err.end(), '\n');
        const bool said =
            err.find(
                "io_uring unavailable (io_uring_setup: Function not implemented), using "
                "epoll") != std::string::npos;
        std::_Exit(all_epoll && said && lines == 1 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace duplex::net
