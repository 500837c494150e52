// Replies batched per loop iteration (server_options::batch_sends, and always with the uring
// backend): in order, whole, before a close, and behind what the kernel refused earlier.
#include <gtest/gtest.h>

#include <string>

#include "duplex/server/server.hpp"
#include "support/test_client.hpp"

namespace duplex {
namespace {

using test::frame;
using test::running_server;
using test::test_client;

server_options batched() {
  server_options o;
  o.batch_sends = true;
  return o;
}

void echo_routes(server& s) {
  ws_behavior b;
  b.on_message = [](websocket& ws, std::string_view d, ws::opcode op) {
    if (d == "bye") {
      ws.close(ws::close_code::normal, "bye");
      return;
    }
    ws.send(d, op);
  };
  s.ws("/", std::move(b));
}

// Many messages in one segment: their replies are made in one iteration and leave together.
TEST(BatchSends, RepliesOfOneIterationArriveInOrder) {
  running_server srv(batched(), echo_routes);
  test_client c(srv.port());
  ASSERT_EQ(c.upgrade(), 101);
  std::string burst;
  for (int i = 0; i < 500; ++i)
    burst += frame(test::fin | test::op_text, "m" + std::to_string(i));
  c.send(burst);
  for (int i = 0; i < 500; ++i) {
    auto f = c.read_frame();
    ASSERT_TRUE(f) << i;
    ASSERT_EQ(f->payload, "m" + std::to_string(i));
  }
}

// A reader that stops: the kernel takes part of a batched write, the rest waits in the queue
// ahead of later replies, and everything arrives in order once it reads again.
TEST(BatchSends, WhatTheKernelRefusedGoesFirstWhenTheReaderComesBack) {
  running_server srv(batched(), echo_routes);
  test_client c(srv.port());
  c.set_receive_buffer(64 * 1024);
  ASSERT_EQ(c.upgrade(), 101);
  // 4 MB of replies, made 4 at a time while nothing is read: more than the two socket buffers
  // hold, so later batched writes meet a full socket. Each reply is under the batch's 16 KiB.
  const std::string big(2900, 'x');
  const int rounds = 350;
  for (int round = 0; round < rounds; ++round) {
    std::string burst;
    for (int i = 0; i < 4; ++i)
      burst += frame(test::fin | test::op_text, std::to_string(round * 4 + i) + big);
    c.send(burst);
  }
  for (int i = 0; i < rounds * 4; ++i) {
    auto f = c.read_frame(5000);
    ASSERT_TRUE(f) << i;
    ASSERT_EQ(f->payload, std::to_string(i) + big);
  }
}

// The reply batched just before a close goes out before the close frame and the FIN.
TEST(BatchSends, AReplyJustBeforeACloseIsNotLost) {
  running_server srv(batched(), echo_routes);
  test_client c(srv.port());
  ASSERT_EQ(c.upgrade(), 101);
  c.send(frame(test::fin | test::op_text, "last") + frame(test::fin | test::op_text, "bye"));
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "last");
  f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode(), 0x8);
  c.send(frame(test::fin | test::op_close, test::close_payload(1000)));
  EXPECT_TRUE(c.wait_eof());
}

}  // namespace
}  // namespace duplex
