// Input read by the kernel for the streams (io_uring's multishot receive into the loop's
// provided buffers): whole and in order, kept for a stream that stopped reading, and never
// holding the ring's buffers so long that other sockets cannot receive.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/receiver.hpp"
#include "net/stream.hpp"
#include "support/socket_pair.hpp"

namespace duplex::net {
namespace {

using test::socket_pair;

struct reader final : stream {
  reader(event_loop& loop, int fd) : stream(loop, fd) {}
  ~reader() { close(false); }
  void on_io(io_events e) override {
    if (read_ready(e)) read(*this);
  }
  bool stream_reading() const noexcept { return reading; }
  void on_stream_data(char* data, std::size_t n) { got.append(data, n); }
  void on_stream_end() {
    ended = true;
    set_interest(false, false);
  }
  void on_stream_tls_error(std::string_view) {}
  using stream::set_interest;
  using stream::watch;

  std::string got;
  bool reading = true;
  bool ended = false;
};

loop_options on_uring() {
  loop_options o;
  o.io = io_backend::uring;
  return o;
}

// Runs the loop until `done` holds or `limit` passes; true if it held.
bool run_until(event_loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  bool held = false;
  const timer_id t = loop.add_timer(
      std::chrono::milliseconds(1),
      [&] {
        held = done();
        if (held || std::chrono::steady_clock::now() > give_up) loop.stop();
      },
      true);
  loop.run();
  loop.cancel_timer(t);
  return held;
}

// Lets the loop take what the kernel has for it.
void settle(event_loop& loop) {
  run_until(
      loop, [] { return false; }, std::chrono::milliseconds(50));
}

std::string pattern(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + i % 23);
  return s;
}

// Writes `bytes` from a thread (a blocking peer), then half-closes.
std::thread send_then_end(int fd, std::string bytes) {
  return std::thread([fd, bytes = std::move(bytes)] {
    std::size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n > 0) {
        at += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
    ::shutdown(fd, SHUT_WR);
  });
}

#define REQUIRE_RECEIVER(loop) \
  if ((loop).input() == nullptr) GTEST_SKIP() << "the kernel offers no multishot receive"

// More than the whole ring (2 MiB): the buffers go back as the stream parses them.
TEST(Receiver, InputArrivesWholeInOrderAndThenItsEnd) {
  event_loop loop(on_uring());
  REQUIRE_RECEIVER(loop);
  socket_pair p;
  reader r(loop, p.release_a());
  r.watch(true, false);
  ASSERT_TRUE(r.receiving());
  const std::string sent = pattern(3 * 1024 * 1024 + 17, 'a');
  std::thread peer = send_then_end(p.b, sent);
  EXPECT_TRUE(run_until(loop, [&] { return r.ended; }));
  peer.join();
  EXPECT_EQ(r.got.size(), sent.size());
  EXPECT_TRUE(r.got == sent) << "the input came out of order";
}

// Many streams that do not read while their peers send more than the ring holds: what came is
// set aside (their buffers go back), another socket still receives, and each stream finds its
// own input, whole, once it reads.
TEST(Receiver, StreamsThatDoNotReadStarveNobody) {
  event_loop loop(on_uring());
  REQUIRE_RECEIVER(loop);
  constexpr int streams = 150;
  constexpr std::size_t each = 3 * receiver::buffer_bytes;  // 450 buffers' worth in all
  std::vector<std::unique_ptr<socket_pair>> pairs;
  std::vector<std::unique_ptr<reader>> readers;
  for (int i = 0; i < streams; ++i) {
    pairs.push_back(std::make_unique<socket_pair>());
    readers.push_back(std::make_unique<reader>(loop, pairs.back()->release_a()));
    readers.back()->reading = false;
    readers.back()->watch(true, false);
    const std::string bytes = pattern(each, static_cast<char>('A' + i % 40));
    ASSERT_EQ(::send(pairs.back()->b, bytes.data(), bytes.size(), 0),
              static_cast<ssize_t>(bytes.size()));
  }
  settle(loop);  // every receive files, runs dry, is armed again
  socket_pair other;
  reader late(loop, other.release_a());
  late.watch(true, false);
  ASSERT_EQ(::send(other.b, "ping", 4, 0), 4);
  EXPECT_TRUE(run_until(loop, [&] { return late.got == "ping"; }));
  for (auto& r : readers)
    EXPECT_TRUE(r->got.empty());
  for (auto& r : readers)
    r->reading = true;
  EXPECT_TRUE(run_until(loop, [&] {
    for (auto& r : readers)
      if (r->got.size() < each) return false;
    return true;
  }));
  for (int i = 0; i < streams; ++i)
    ASSERT_TRUE(readers[i]->got == pattern(each, static_cast<char>('A' + i % 40))) << i;
}

// Reading turned off (a held request, a full queue): what the kernel read before the
// receive was cancelled waits, and comes first, before what follows, once reading resumes.
TEST(Receiver, InputReadBeforeReadingStoppedComesFirstWhenItResumes) {
  event_loop loop(on_uring());
  REQUIRE_RECEIVER(loop);
  socket_pair p;
  reader r(loop, p.release_a());
  r.watch(true, false);
  ASSERT_EQ(::send(p.b, "one ", 4, 0), 4);
  ASSERT_TRUE(run_until(loop, [&] { return r.got == "one "; }));
  r.reading = false;
  ASSERT_EQ(::send(p.b, "two ", 4, 0), 4);
  settle(loop);  // filed, then set aside
  r.set_interest(false, false);
  ASSERT_EQ(::send(p.b, "three", 5, 0), 5);
  settle(loop);
  EXPECT_EQ(r.got, "one ");
  r.reading = true;
  r.set_interest(true, false);
  EXPECT_TRUE(run_until(loop, [&] { return r.got.size() >= 13; }));
  EXPECT_EQ(r.got, "one two three");
}

// A stream closed with input it never read gives its buffers back: after more such closes than
// the ring has buffers, a new stream still receives.
TEST(Receiver, AClosedStreamsBuffersGoBack) {
  event_loop loop(on_uring());
  REQUIRE_RECEIVER(loop);
  const std::string bytes = pattern(2 * receiver::buffer_bytes, 'x');
  for (unsigned i = 0; i < receiver::buffer_count; ++i) {
    socket_pair p;
    reader r(loop, p.release_a());
    r.reading = false;
    r.watch(true, false);
    ASSERT_EQ(::send(p.b, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    // One wait: the receive files the input under the stream, which does not take it.
    bool once = false;
    run_until(loop, [&] { return std::exchange(once, true); });
  }
  socket_pair p;
  reader r(loop, p.release_a());
  r.watch(true, false);
  std::thread peer = send_then_end(p.b, bytes);
  EXPECT_TRUE(run_until(loop, [&] { return r.ended; }));
  peer.join();
  EXPECT_TRUE(r.got == bytes);
}

// A hook standing in for recv (fault injection) must see every read: such a stream reads
// through readiness, as on epoll.
TEST(Receiver, ARecvHookKeepsTheStreamOnReadiness) {
  event_loop loop(on_uring());
  REQUIRE_RECEIVER(loop);
  static int calls = 0;
  calls = 0;
  io.recv.store(+[](int fd, void* buf, std::size_t n, int flags) -> ssize_t {
    ++calls;
    return ::recv(fd, buf, n, flags);
  });
  socket_pair p;
  reader r(loop, p.release_a());
  r.watch(true, false);
  EXPECT_FALSE(r.receiving());
  ASSERT_EQ(::send(p.b, "hi", 2, 0), 2);
  EXPECT_TRUE(run_until(loop, [&] { return r.got == "hi"; }));
  io.restore();
  EXPECT_GT(calls, 0);
}

}  // namespace
}  // namespace duplex::net
