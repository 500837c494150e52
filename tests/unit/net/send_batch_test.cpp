// A stream's small writes batched per loop iteration (loop_options::batch_sends): in order,
// whole, and behind what the kernel did not take.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "net/send_batch.hpp"
#include "net/stream.hpp"
#include "support/socket_pair.hpp"

namespace duplex::net {
namespace {

struct test_stream final : stream {
  test_stream(event_loop& loop, int fd) : stream(loop, fd) {}
  ~test_stream() { close(false); }
  void on_io(io_events e) override {
    if (has(e, io_events::writable)) flush();
  }
};

using test::socket_pair;

loop_options batching() {
  loop_options o;
  o.batch_sends = true;
  return o;
}

TEST(SendBatch, SmallWritesWaitForTheIterationsEndAndArriveInOrder) {
  event_loop loop(batching());
  if (loop.batch() == nullptr) GTEST_SKIP() << "the kernel refuses io_uring";
  socket_pair p;
  test_stream s(loop, p.release_a());
  s.watch(true, false);
  s.write("one ");
  EXPECT_FALSE(loop.batch()->empty()) << "the write waits in the batch";
  EXPECT_EQ(p.drain(), "");
  // A second write sends the batch first (queued behind it, it would look refused by the
  // kernel to a sender waiting for a drain), then waits in the batch itself.
  s.write("two ");
  EXPECT_EQ(p.drain(), "one ");
  EXPECT_EQ(s.queued(), 0u);
  loop.batch()->flush();
  EXPECT_TRUE(loop.batch()->empty());
  EXPECT_EQ(p.drain(), "two ");
  EXPECT_TRUE(s.drained());
}

// The socket has room for part of a batched write: the rest goes ahead of what was queued
// behind it, and everything arrives in order as the peer reads.
TEST(SendBatch, TheRestOfAShortWriteGoesFirst) {
  event_loop loop(batching());
  if (loop.batch() == nullptr) GTEST_SKIP() << "the kernel refuses io_uring";
  socket_pair p;
  // Fill the socket, then let the peer take a little: there is room for part of a write.
  const std::string filler(1000, 'f');
  std::string expect;
  while (::send(p.a, filler.data(), filler.size(), MSG_DONTWAIT) > 0)
    expect += filler;
  char some[2000];
  const ssize_t took = ::read(p.b, some, sizeof some);
  ASSERT_GT(took, 0);
  std::string got(some, static_cast<std::size_t>(took));
  test_stream s(loop, p.release_a());
  s.watch(true, false);
  std::string first(8000, 'a'), second(3000, 'b');
  for (std::size_t i = 0; i < first.size(); ++i)
    first[i] = static_cast<char>('a' + i % 26);
  s.write(first);   // batched: the full socket takes none or part of it
  s.write(second);  // queued behind it
  expect += first + second;
  loop.batch()->flush();
  EXPECT_FALSE(s.drained()) << "the socket was full: something must wait";
  for (int i = 0; i < 1000 && got.size() < expect.size(); ++i) {
    got += p.drain();
    loop.add_timer(std::chrono::milliseconds(1), [&] { loop.stop(); });
    loop.run();
  }
  got += p.drain();
  ASSERT_EQ(got.size(), expect.size());
  EXPECT_TRUE(got == expect);
  EXPECT_TRUE(s.drained());
}

// A stream closed with its write still in the batch: the write goes out before the close.
TEST(SendBatch, AStreamClosedWithAWaitingWriteSendsItFirst) {
  event_loop loop(batching());
  if (loop.batch() == nullptr) GTEST_SKIP() << "the kernel refuses io_uring";
  socket_pair p;
  {
    test_stream s(loop, p.release_a());
    s.watch(true, false);
    s.write("last words");
  }
  EXPECT_TRUE(loop.batch()->empty());
  EXPECT_EQ(p.drain(), "last words");
  char c;
  EXPECT_EQ(::read(p.b, &c, 1), 0) << "then the end of the stream";
}

// A stream that gives up right after a write (a server terminating a socket in on_open, after
// its 101 was written): the write was made, so it goes out before the shutdown. Dropping it
// left clients with a handshake that never answered instead of a connection that dropped.
TEST(SendBatch, GivingUpAfterAWriteStillSendsTheWrite) {
  event_loop loop(batching());
  if (loop.batch() == nullptr) GTEST_SKIP() << "the kernel refuses io_uring";
  socket_pair p;
  test_stream s(loop, p.release_a());
  s.watch(true, false);
  s.write("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  s.fail();
  EXPECT_TRUE(loop.batch()->empty());
  EXPECT_EQ(p.drain(), "HTTP/1.1 101 Switching Protocols\r\n\r\n");
  char c;
  EXPECT_EQ(::read(p.b, &c, 1), 0) << "then the end of the stream";
}

// A write made between two runs of the loop goes out before the next run waits: the answer
// it asks for can then arrive and end that wait.
TEST(SendBatch, AWriteMadeOutsideRunLeavesBeforeTheLoopWaits) {
  event_loop loop(batching());
  if (loop.batch() == nullptr) GTEST_SKIP() << "the kernel refuses io_uring";
  socket_pair p;
  test_stream s(loop, p.release_a());
  s.watch(true, false);
  s.write("ping");
  loop.add_timer(std::chrono::milliseconds(5000), [&] { loop.stop(); });
  std::string got;
  std::thread peer([&] {
    for (int i = 0; i < 500 && got.empty(); ++i) {
      got = p.drain();
      if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    loop.stop();
  });
  const auto start = std::chrono::steady_clock::now();
  loop.run();
  peer.join();
  EXPECT_EQ(got, "ping");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace duplex::net
