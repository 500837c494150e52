// Sending to one socket from other threads through socket_handle, and the clear error a
// loop-bound call made from the wrong thread gets. Meant to run clean under ASan and TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "duplex/net/event_loop.hpp"
#include "support/test_client.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

// A server that hands each opened socket's handle (and, for the wrong-thread test, the
// websocket itself) to the test.
struct handles {
  std::mutex m;
  std::vector<socket_handle> opened;
  websocket* last = nullptr;
  std::atomic<int> closed{0};

  std::function<void(server&)> setup() {
    return [this](server& s) {
      ws_behavior b;
      b.on_open = [this](websocket& ws) {
        std::lock_guard lock(m);
        opened.push_back(ws.handle());
        last = &ws;
      };
      b.on_close = [this](websocket&, ws::close_code, std::string_view) { ++closed; };
      s.ws("/", std::move(b));
    };
  }
  socket_handle first() {
    std::lock_guard lock(m);
    return opened.empty() ? socket_handle{} : opened.front();
  }
};

TEST(SocketHandle, ManyThreadsSendToOneSocketInTheirOwnOrder) {
  handles h;
  running_server srv({}, h.setup());
  test_client c(srv.port());
  ASSERT_EQ(c.upgrade(), 101);
  ASSERT_TRUE(eventually([&] { return h.first().alive(); }));
  constexpr int threads = 4, each = 250;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t, handle = h.first()] {
      for (int i = 0; i < each; ++i)
        EXPECT_TRUE(handle.send(std::to_string(t) + ":" + std::to_string(i)));
    });
  std::map<int, int> next;
  for (int n = 0; n < threads * each; ++n) {
    auto f = c.read_frame();
    ASSERT_TRUE(f) << "after " << n << " messages";
    const auto colon = f->payload.find(':');
    const int t = std::stoi(f->payload.substr(0, colon));
    EXPECT_EQ(std::stoi(f->payload.substr(colon + 1)), next[t]++) << "thread " << t;
  }
  for (auto& w : workers)
    w.join();
  for (int t = 0; t < threads; ++t)
    EXPECT_EQ(next[t], each);
}

TEST(SocketHandle, ANoOpOnceTheSocketClosedWhileOthersStillSend) {
  handles h;
  running_server srv({}, h.setup());
  auto c = std::make_unique<test_client>(srv.port());
  ASSERT_EQ(c->upgrade(), 101);
  ASSERT_TRUE(eventually([&] { return h.first().alive(); }));
  const socket_handle handle = h.first();
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    for (int i = 0; i < 100'000 && !stop; ++i)
      handle.send("late");  // races the close on purpose: each send lands or is dropped
  });
  c.reset();  // TCP ends: on_close (1006), and the handle's socket is gone
  ASSERT_TRUE(eventually([&] { return h.closed == 1; }));
  EXPECT_TRUE(eventually([&] { return !handle.alive(); }));
  stop = true;
  sender.join();
  EXPECT_FALSE(handle.send("after"));
  EXPECT_FALSE(handle.close());
  EXPECT_FALSE(socket_handle{}.send("nobody"));
  // A new socket on the same server is not reached through the old handle.
  test_client next(srv.port());
  ASSERT_EQ(next.upgrade(), 101);
  EXPECT_FALSE(handle.send("stray"));
  EXPECT_FALSE(next.read_frame(200));
}

TEST(SocketHandle, ClosesFromAnotherThreadAndOutlivesTheServer) {
  handles h;
  socket_handle handle;
  {
    running_server srv({}, h.setup());
    test_client c(srv.port());
    ASSERT_EQ(c.upgrade(), 101);
    ASSERT_TRUE(eventually([&] { return h.first().alive(); }));
    handle = h.first();
    EXPECT_TRUE(handle.close(ws::application_code(1), "bye"));
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode(), op_close);
    EXPECT_EQ(f->close_code(), 4001);
    EXPECT_EQ(f->payload.substr(2), "bye");
  }
  EXPECT_FALSE(handle.alive());
  EXPECT_FALSE(handle.send("into a server that is gone"));
}

TEST(WrongThread, ALoopBoundCallFromAnotherThreadThrowsAndSaysWhatToUse) {
  handles h;
  running_server srv({}, h.setup());
  test_client c(srv.port());
  ASSERT_EQ(c.upgrade(), 101);
  ASSERT_TRUE(eventually([&] { return h.first().alive(); }));
  websocket* ws = nullptr;
  {
    std::lock_guard lock(h.m);
    ws = h.last;
  }
  try {
    ws->send("from the test's thread");
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("websocket::send"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("handle()"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ws->subscribe("t"), std::logic_error);
  EXPECT_THROW(ws->close(), std::logic_error);
  EXPECT_THROW(srv.get().loop(0).add_timer(1ms, [] {}), std::logic_error);
  EXPECT_FALSE(c.read_frame(100));  // nothing of those went out
  EXPECT_TRUE(h.first().send("through the handle"));
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "through the handle");
}

}  // namespace
}  // namespace duplex
