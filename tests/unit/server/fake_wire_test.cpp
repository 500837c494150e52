// The server connection over a fake wire: its behaviour (handshake, echo, corked replies,
// backpressure, the close handshake and the half-close) checked byte for byte, with no socket.
#include "support/fake_wire.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/server_state.hpp"
#include "server/socket_conn.hpp"
#include "support/frames.hpp"

namespace duplex::detail {
namespace {

using namespace duplex::test;

const std::string upgrade_request =
    "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// One loop of a server, with one route, driven an iteration at a time.
struct harness {
  explicit harness(server_options o = {}) : state(with_defaults(std::move(o))), ctx(state, 0) {
    ws_behavior b;
    b.on_message = [this](websocket& ws, std::string_view d, ws::opcode op) {
      for (int i = 0; i < replies; ++i)
        ws.send(d, op);
    };
    b.on_close = [this](websocket&, ws::close_code code, std::string_view) {
      closes.push_back(ws::to_int(code));
    };
    state.ws_routes.push_back(std::make_unique<route>(route{"/echo", std::move(b)}));
    ctx.accept(wire.fd());
  }
  static server_options with_defaults(server_options o) {
    o.log = [](std::string_view) {};
    return o;
  }
  // One iteration: readiness first, then the posted stop.
  void step() {
    ctx.loop.post([this] { ctx.loop.stop(); });
    ctx.loop.run();
  }
  std::vector<parsed_frame> frames() {
    std::string out = wire.take_output();
    std::vector<parsed_frame> got;
    parsed_frame f;
    while (take_frame(out, f))
      got.push_back(f);
    EXPECT_EQ(out, "") << "a partial frame was written";
    return got;
  }
  void open() {
    wire.feed(upgrade_request);
    step();
    const std::string answer = wire.take_output();
    ASSERT_EQ(answer.rfind("HTTP/1.1 101", 0), 0u) << answer;
  }

  fake_wire wire;  // first: it outlives the loop that closes its descriptor
  server_state state;
  loop_context ctx;
  int replies = 1;
  std::vector<std::uint16_t> closes;
};

TEST(FakeWire, UpgradesAndEchoesWithoutASocket) {
  harness h;
  h.open();
  h.wire.feed(frame(fin | op_text, "hello"));
  h.step();
  const auto f = h.frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].opcode(), op_text);
  EXPECT_EQ(f[0].payload, "hello");
}

TEST(FakeWire, RepliesMadeInOneCallbackLeaveInOneWrite) {
  harness h;
  h.replies = 3;
  h.open();
  const std::size_t before = h.wire.writes();
  h.wire.feed(frame(fin | op_text, "a") + frame(fin | op_text, "b"));
  h.step();
  EXPECT_EQ(h.frames().size(), 6u);
  EXPECT_EQ(h.wire.writes() - before, 1u) << "the cork batches every reply of the read";
}

// Without an idle timeout an open socket has no deadline: it leaves the timer wheel at the
// upgrade, and once the handshake's turn has passed the loop has no timer left to wake for.
TEST(FakeWire, AnIdleSocketWithoutIdleTimeoutHoldsNoTimer) {
  server_options o;
  o.idle_timeout = std::chrono::milliseconds(0);
  o.handshake_timeout = std::chrono::milliseconds(5);
  o.tick = std::chrono::milliseconds(1);
  harness h(o);
  EXPECT_EQ(h.ctx.wheel.size(), 1u) << "the handshake deadline";
  EXPECT_NE(h.ctx.wheel_timer, 0u);
  h.open();
  EXPECT_TRUE(h.ctx.wheel.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  h.step();
  h.step();
  EXPECT_EQ(h.ctx.wheel_timer, 0u) << "nothing armed, nothing to wake for";
  h.wire.feed(frame(fin | op_text, "still here"));
  h.step();
  EXPECT_EQ(h.frames().size(), 1u);
  EXPECT_EQ(h.ctx.wheel_timer, 0u);
}

// A message pushes the idle deadline back without touching the wheel: the node keeps its
// turn, and is re-armed for the later time only when that turn comes.
TEST(FakeWire, AMessageDefersTheIdleDeadlineLazily) {
  server_options o;
  o.idle_timeout = std::chrono::milliseconds(60'000);
  harness h(o);
  h.open();
  ASSERT_EQ(h.ctx.wheel.size(), 1u);
  const std::uint64_t turn = h.ctx.wheel.next_turn();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past one tick of 250 ms
  h.wire.feed(frame(fin | op_text, "a"));
  h.step();
  EXPECT_EQ(h.frames().size(), 1u);
  EXPECT_EQ(h.ctx.wheel.size(), 1u);
  EXPECT_EQ(h.ctx.wheel.next_turn(), turn) << "the node did not move";
}

TEST(FakeWire, RefusedBytesAreQueuedAndFollowOnWritability) {
  harness h;
  h.open();
  h.wire.refuse_writes(true);
  h.wire.feed(frame(fin | op_binary, std::string(1000, 'q')));
  h.step();
  EXPECT_TRUE(h.frames().empty());
  ASSERT_NE(h.ctx.first_open(), nullptr);
  EXPECT_GT(h.ctx.first_open()->buffered_amount(), 1000u);
  h.wire.refuse_writes(false);
  h.step();  // the descriptor is writable: the queue goes out
  const auto f = h.frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].payload, std::string(1000, 'q'));
  EXPECT_EQ(h.ctx.first_open()->buffered_amount(), 0u);
}

TEST(FakeWire, CloseHandshakeThenHalfCloseThenOnClose) {
  harness h;
  h.open();
  h.wire.feed(frame(fin | op_close, close_payload(1000, "bye")));
  h.step();
  const auto f = h.frames();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].opcode(), op_close);
  EXPECT_EQ(f[0].close_code(), 1000);
  EXPECT_TRUE(h.wire.write_shut()) << "RFC 6455 7.1.1: the server ends TCP first";
  EXPECT_EQ(h.closes, std::vector<std::uint16_t>{1000});
  ASSERT_NE(h.ctx.first_open(), nullptr) << "still reading until the peer's FIN";
  h.wire.end();
  h.step();
  EXPECT_EQ(h.ctx.first_open(), nullptr);
  EXPECT_EQ(h.closes.size(), 1u) << "on_close runs once";
}

TEST(FakeWire, AQueueOverTheLimitEndsTheSocketWith1008) {
  server_options o;
  o.max_backpressure = 4096;
  harness h(o);
  h.open();
  h.wire.refuse_writes(true);
  h.wire.feed(frame(fin | op_binary, std::string(5000, 'x')));
  h.step();  // the echo passes the limit: the stream gives up, both ways
  EXPECT_TRUE(h.wire.write_shut());
  EXPECT_TRUE(h.wire.read_shut());
  h.step();  // the next readiness reports the end, and on_close follows
  EXPECT_EQ(h.closes, std::vector<std::uint16_t>{1008});
  EXPECT_EQ(h.ctx.first_open(), nullptr);
}

}  // namespace
}  // namespace duplex::detail
