// Topics: subscribe, unsubscribe, publish from a socket and from the server, across loops.
#include <gtest/gtest.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

// "/room": every socket subscribes to "room"; text "pub:X" publishes X from the socket,
// "all:X" publishes X from the server, "leave" unsubscribes.
std::function<void(server&)> room_setup() {
  return [](server& s) {
    ws_behavior b;
    b.on_open = [](websocket& ws) {
      EXPECT_TRUE(ws.subscribe("room"));
      EXPECT_FALSE(ws.subscribe("room"));
    };
    b.on_message = [&s](websocket& ws, std::string_view data, ws::opcode) {
      if (data.starts_with("pub:")) ws.publish("room", data.substr(4));
      if (data.starts_with("all:")) s.publish("room", data.substr(4));
      if (data == "leave") {
        EXPECT_TRUE(ws.unsubscribe("room"));
        EXPECT_FALSE(ws.is_subscribed("room"));
        ws.send("left");
      }
    };
    s.ws("/room", std::move(b));
  };
}

std::vector<std::unique_ptr<test_client>> join(std::uint16_t port, int n) {
  std::vector<std::unique_ptr<test_client>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(std::make_unique<test_client>(port));
    EXPECT_EQ(out.back()->upgrade("/room"), 101);
  }
  return out;
}

TEST(PubSub, SocketPublishReachesEveryoneButTheSender) {
  running_server s({}, room_setup());
  auto c = join(s.port(), 3);
  c[0]->send_text("pub:hello");
  for (int i = 1; i < 3; ++i) {
    auto f = c[static_cast<std::size_t>(i)]->read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "hello");
  }
  EXPECT_FALSE(c[0]->read_frame(200));
}

TEST(PubSub, ServerPublishReachesEveryoneAcrossTwoLoops) {
  server_options o;
  o.threads = 2;
  running_server s(o, room_setup());
  auto c = join(s.port(), 8);
  c[3]->send_text("all:to everyone");
  for (auto& cl : c) {
    auto f = cl->read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "to everyone");
  }
  // And from outside any loop thread.
  s.get().publish("room", std::string(70000, 'z'), ws::opcode::binary);
  for (auto& cl : c) {
    auto f = cl->read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload.size(), 70000u);
    EXPECT_EQ(f->opcode(), op_binary);
  }
}

// Broadcasts made in one loop iteration are written to each subscriber at its end, together:
// every one of them must still arrive, whole and in publish order, on every subscriber.
TEST(PubSub, ABurstOfPublishesArrivesWholeAndInOrder) {
  running_server s({}, room_setup());
  auto c = join(s.port(), 4);
  std::string burst;
  for (int i = 0; i < 300; ++i)
    burst += frame(fin | op_text, "pub:" + std::to_string(i));
  c[0]->send(burst);  // one write: the server reads many publishes at once
  for (std::size_t k = 1; k < c.size(); ++k) {
    for (int i = 0; i < 300; ++i) {
      auto f = c[k]->read_frame();
      ASSERT_TRUE(f) << "subscriber " << k << " message " << i;
      ASSERT_EQ(f->payload, std::to_string(i));
    }
  }
  EXPECT_FALSE(c[0]->read_frame(200));
}

TEST(PubSub, UnsubscribedAndClosedSocketsGetNothing) {
  running_server s({}, room_setup());
  auto c = join(s.port(), 3);
  c[1]->send_text("leave");
  auto left = c[1]->read_frame();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->payload, "left");
  c[2].reset();  // disconnects
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 2; }));
  c[0]->send_text("all:after");
  auto f = c[0]->read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "after");
  EXPECT_FALSE(c[1]->read_frame(200));
}

TEST(PubSub, UserDataLivesWithTheSocket) {
  struct tag {
    std::string name;
    int* destroyed;
    ~tag() { ++*destroyed; }
  };
  int destroyed = 0;
  running_server s({}, [&](server& srv) {
    ws_behavior b;
    b.on_open = [&](websocket& ws) {
      ws.emplace_data<tag>(tag{"n" + std::to_string(ws.buffered_amount()), &destroyed});
    };
    b.on_message = [](websocket& ws, std::string_view, ws::opcode) {
      EXPECT_EQ(ws.data<int>(), nullptr);  // wrong type: no data
      ASSERT_NE(ws.data<tag>(), nullptr);
      ws.send(ws.data<tag>()->name + " " + std::string(ws.path()));
    };
    srv.ws("/u", std::move(b));
  });
  {
    test_client c(s.port());
    ASSERT_EQ(c.upgrade("/u"), 101);
    c.send_text("who");
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "n0 /u");
  }
  // The temporary in emplace_data was destroyed once; the held one goes with the socket.
  EXPECT_TRUE(eventually([&] { return destroyed == 2; }));
}

}  // namespace
}  // namespace duplex
