#include "duplex/net/send_queue.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "support/socket_pair.hpp"

namespace duplex::net {
namespace {

using test::socket_pair;

// Every idle socket holds a queue: empty, it is one pointer and owns nothing, and a queue
// filled and drained again (a broadcast on every iteration) works the same each time.
static_assert(sizeof(send_queue) == sizeof(void*));

// A broadcast of 16 frames to 1,000 subscribers fills 1,000 queues at once and drains them at
// the iteration's end: their blocks go back to the pool, and the next broadcast takes them from
// there instead of allocating 1,000 blocks again (the pool once kept 64 blocks of 8 segments,
// and this fan-out spent a tenth of its time in malloc).
TEST(SendQueue, AFanOutsBlocksAreKeptForTheNextIteration) {
  socket_pair s;
  auto frame = std::make_shared<const std::string>("f");
  const std::size_t before = send_queue::pooled_blocks();
  for (int round = 0; round < 3; ++round) {
    {
      std::vector<send_queue> queues(1000);
      for (auto& q : queues)
        for (int i = 0; i < 16; ++i)
          q.push(frame);
      for (auto& q : queues) {
        EXPECT_EQ(q.flush(s.a).written, 16u);
        s.drain();
      }
    }
    EXPECT_EQ(send_queue::pooled_blocks(), std::max<std::size_t>(before, 1000)) << round;
  }
  EXPECT_EQ(frame.use_count(), 1);
}

TEST(SendQueue, DrainedQueueHoldsNothingAndIsReusable) {
  socket_pair s;
  send_queue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  auto frame = std::make_shared<const std::string>("frame");
  std::string expect, got;
  for (int i = 0; i < 100; ++i) {
    q.push(frame);
    q.push(std::string_view("own"));
    EXPECT_EQ(q.bytes(), 8u);
    const auto w = q.flush(s.a);
    EXPECT_EQ(w.written, 8u);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
    expect += "frameown";
    got += s.drain();  // the peer reads: the small socket buffer never blocks the next flush
  }
  EXPECT_EQ(got, expect);
  q.push(std::string_view("x"));
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push(std::string_view(""));  // nothing to queue: still empty
  EXPECT_TRUE(q.empty());
}

TEST(SendQueue, KeepsOrderAcrossOwnedAndSharedSegmentsAndPartialWrites) {
  socket_pair s;
  send_queue q;
  auto shared = std::make_shared<const std::string>(std::string(100000, 's'));
  std::string expect;
  q.push(std::string(50000, 'a'));
  expect += std::string(50000, 'a');
  q.push(shared, 10);
  expect += shared->substr(10);
  q.push(std::string_view("tail"));
  expect += "tail";
  EXPECT_EQ(q.bytes(), expect.size());

  std::string got;
  for (int i = 0; i < 10000 && !q.empty(); ++i) {
    const auto w = q.flush(s.a);
    EXPECT_EQ(w.error, 0);
    got += s.drain();
  }
  got += s.drain();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(got, expect);
  EXPECT_EQ(shared.use_count(), 1);  // the queue let go of the shared frame
}

TEST(SendQueue, ReportsBlockedWhenTheKernelIsFull) {
  socket_pair s;
  send_queue q;
  q.push(std::string(4 << 20, 'x'));
  const auto w = q.flush(s.a);
  EXPECT_TRUE(w.blocked);
  EXPECT_GT(w.written, 0u);
  EXPECT_EQ(q.bytes(), (4u << 20) - w.written);
}

TEST(SendQueue, ReportsAFatalError) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  send_queue q;
  q.push(std::string_view("x"));
  const auto w = q.flush(fds[0]);
  EXPECT_EQ(w.error, EPIPE);  // and no SIGPIPE kills the test
  EXPECT_FALSE(q.empty());
  ::close(fds[0]);
}

TEST(SendQueue, EmptyPushesAreIgnored) {
  send_queue q;
  q.push(std::string_view{});
  q.push(std::string{});
  q.push(std::make_shared<const std::string>("ab"), 2);
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace duplex::net
