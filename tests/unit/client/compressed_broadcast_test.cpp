// Publishing to subscribers that negotiated permessage-deflate: every subscriber inflates exactly
// the published bytes, whatever it agreed; a frame compressed once is shared only by sockets
// without server context takeover; closing and slow subscribers behave as without compression.
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "duplex/client/client.hpp"
#include "duplex/ws/deflate.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

// Repetitive text (compresses well) or random bytes (does not).
std::string payload(std::mt19937& rng, std::size_t n, bool random) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = random ? static_cast<char>(rng()) : "publish once, deflate once "[i % 27];
  return s;
}

// "/room": every socket joins "room"; the message "go" publishes `msgs` from the server.
std::function<void(server&)> room(const std::vector<std::pair<std::string, ws::opcode>>& msgs) {
  return [&msgs](server& s) {
    ws_behavior b;
    b.on_open = [](websocket& ws) { ws.subscribe("room"); };
    b.on_message = [&s, &msgs](websocket&, std::string_view data, ws::opcode) {
      if (data != "go") return;
      for (const auto& [m, op] : msgs)
        s.publish("room", m, op);
    };
    s.ws("/room", std::move(b));
  };
}

struct received {
  std::vector<std::pair<std::string, ws::opcode>> messages;
  std::string extensions;
};

// Opens one real client per option set on one loop; once all are open the first asks for the
// publication, and the loop runs until each has `expect` messages (or 10 s pass).
std::vector<received> run_clients(std::uint16_t port, const std::vector<client_options>& opts,
                                  std::size_t expect) {
  net::event_loop loop;
  std::vector<received> out(opts.size());
  std::vector<std::unique_ptr<client>> clients;
  std::size_t opened = 0, done = 0;
  for (std::size_t i = 0; i < opts.size(); ++i) {
    client_handlers h;
    h.on_open = [&, i](client& c) {
      out[i].extensions = c.extensions();
      if (++opened == opts.size()) clients[0]->send("go");
    };
    h.on_message = [&, i](client&, std::string_view d, ws::opcode op) {
      out[i].messages.emplace_back(std::string(d), op);
      if (out[i].messages.size() == expect && ++done == opts.size()) loop.stop();
    };
    h.on_error = [&](client&, const client_error&) { loop.stop(); };
    clients.push_back(std::make_unique<client>(loop, opts[i], std::move(h)));
  }
  loop.add_timer(10s, [&] { loop.stop(); });
  for (auto& c : clients)
    c->connect("ws://127.0.0.1:" + std::to_string(port) + "/room");
  loop.run();
  return out;
}

// Every kind of subscriber at once: none, context takeover (own compression), and groups of
// no-context sockets by window; small messages stay plain.
std::vector<client_options> every_kind() {
  std::vector<client_options> v(7);
  for (std::size_t i = 1; i < v.size(); ++i)
    v[i].deflate.enabled = true;
  v[2].deflate.server_no_context_takeover = true;
  v[3].deflate.server_no_context_takeover = true;
  v[3].deflate.server_max_window_bits = 10;
  v[4].deflate.server_no_context_takeover = true;
  v[4].deflate.server_max_window_bits = 9;
  v[5].deflate.server_no_context_takeover = true;  // shares v[2]'s frames
  v[6].deflate.client_no_context_takeover = true;
  v[6].deflate.server_max_window_bits = 12;
  return v;
}

std::vector<std::pair<std::string, ws::opcode>> messages() {
  std::mt19937 rng(16);
  std::vector<std::pair<std::string, ws::opcode>> m;
  for (std::size_t n : {0u, 5u, 31u, 32u, 100u, 5000u, 5000u, 70000u, 300000u})
    m.emplace_back(payload(rng, n, false), ws::opcode::text);
  for (std::size_t n : {40u, 3000u, 200000u})
    m.emplace_back(payload(rng, n, true), ws::opcode::binary);
  return m;
}

void expect_all_received(const std::vector<received>& got,
                         const std::vector<std::pair<std::string, ws::opcode>>& sent) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].messages.size(), sent.size()) << "client " << i;
    for (std::size_t k = 0; k < sent.size(); ++k) {
      EXPECT_EQ(got[i].messages[k].first, sent[k].first) << "client " << i << " message " << k;
      EXPECT_EQ(got[i].messages[k].second, sent[k].second) << "client " << i << " message " << k;
    }
  }
}

TEST(CompressedBroadcast, EverySubscriberInflatesThePublishedBytes) {
  const auto sent = messages();
  server_options o;
  o.deflate.enabled = true;
  running_server s(o, room(sent));
  const auto got = run_clients(s.port(), every_kind(), sent.size());
  expect_all_received(got, sent);
  EXPECT_TRUE(got[0].extensions.empty());
  EXPECT_EQ(got[1].extensions.find("server_no_context_takeover"), std::string::npos);
  EXPECT_NE(got[3].extensions.find("server_max_window_bits=10"), std::string::npos);
}

// Across two loops (the other loop compresses through its own call), with the shared mode that
// imposes no context takeover on everyone and the smallest compressor tier.
TEST(CompressedBroadcast, SharedCompressorModeAcrossTwoLoops) {
  const auto sent = messages();
  server_options o;
  o.threads = 2;
  o.deflate.enabled = true;
  o.deflate.shared_compressor = true;
  o.deflate.memory = ws::compressor_memory::kib_4;
  running_server s(o, room(sent));
  const auto got = run_clients(s.port(), every_kind(), sent.size());
  expect_all_received(got, sent);
  for (std::size_t i = 1; i < got.size(); ++i)
    EXPECT_NE(got[i].extensions.find("server_no_context_takeover"), std::string::npos) << i;
}

// ---- the wire, seen by raw clients -----------------------------------------------------

struct raw_subscriber {
  std::unique_ptr<test_client> c;
  bool takeover;  // the server keeps context for it
  int window;
  std::unique_ptr<ws::deflate_codec> codec;
};

raw_subscriber join_raw(std::uint16_t port, bool takeover, int window) {
  raw_subscriber r{std::make_unique<test_client>(port), takeover, window, nullptr};
  std::string ext = "permessage-deflate";
  if (!takeover) ext += "; server_no_context_takeover";
  if (window < 15) ext += "; server_max_window_bits=" + std::to_string(window);
  r.c->send(
      "GET /room HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Extensions: " +
      ext + "\r\n\r\n");
  EXPECT_EQ(r.c->read_status(), 101);
  ws::deflate_params p;
  p.server_no_context_takeover = !takeover;
  p.server_max_window_bits = window;
  r.codec = std::make_unique<ws::deflate_codec>(false, p, 6);
  return r;
}

std::function<void(server&)> plain_room() {
  return [](server& s) {
    ws_behavior b;
    b.on_open = [](websocket& ws) { ws.subscribe("room"); };
    s.ws("/room", std::move(b));
  };
}

// Seeded mixes of subscribers and messages, each message published twice in a row. A socket
// the server keeps context for compresses the repeat to a few back-references: had it been
// sent a shared frame (made without context) the repeat would be as large as the first (the
// message is random bytes, and fits twice in every window). The
// sockets without context get the same bytes both times, and all inflate the message.
TEST(CompressedBroadcast, ContextTakeoverSocketsNeverGetASharedFrame) {
  server_options o;
  o.deflate.enabled = true;
  running_server s(o, plain_room());
  std::mt19937 rng(7);
  for (int round = 0; round < 6; ++round) {
    std::vector<raw_subscriber> subs;
    for (int i = 0; i < 5; ++i)
      subs.push_back(join_raw(s.port(), rng() % 2 == 0, 9 + static_cast<int>(rng() % 7)));
    ASSERT_TRUE(eventually([&] { return s.get().connection_count() == subs.size(); }));
    for (int m = 0; m < 4; ++m) {
      // Within the smallest window (512 bytes) twice: the repeat may refer to the first.
      const std::string msg = payload(rng, 120 + rng() % 120, true);
      s.get().publish("room", msg, ws::opcode::binary);
      s.get().publish("room", msg, ws::opcode::binary);
      for (auto& sub : subs) {
        std::string frames[2];
        for (auto& f : frames) {
          auto got = sub.c->read_frame();
          ASSERT_TRUE(got);
          ASSERT_EQ(got->first, 0x80 | 0x40 | 0x2) << "FIN, RSV1 (compressed), binary";
          std::string plain;
          ASSERT_EQ(sub.codec->inflate(got->payload, true, plain, 1 << 20),
                    ws::deflate_codec::result::ok);
          EXPECT_EQ(plain, msg);
          f = got->payload;
        }
        if (sub.takeover) {
          EXPECT_LT(frames[1].size() * 4, frames[0].size()) << "window " << sub.window;
        } else {
          EXPECT_EQ(frames[1], frames[0]) << "window " << sub.window;
        }
      }
    }
    subs.clear();
    ASSERT_TRUE(eventually([&] { return s.get().connection_count() == 0; }));
  }
}

// A compressing subscriber that stops reading is closed with 1008 under the close policy, by the
// shared frames and by its own compression alike, while another subscriber keeps receiving.
TEST(CompressedBroadcast, SlowCompressingSubscriberIsClosedOthersContinue) {
  for (bool takeover : {false, true}) {
    std::atomic<int> closed_1008{0};
    server_options o;
    o.deflate.enabled = true;
    o.max_backpressure = 256 * 1024;
    running_server s(o, [&](server& srv) {
      ws_behavior b;
      b.on_open = [](websocket& ws) { ws.subscribe("room"); };
      b.on_close = [&](websocket&, ws::close_code c, std::string_view) {
        if (ws::to_int(c) == 1008) ++closed_1008;
      };
      srv.ws("/room", std::move(b));
    });
    auto slow = join_raw(s.port(), takeover, 15);
    slow.c->set_receive_buffer(8 * 1024);
    auto reader = join_raw(s.port(), !takeover, 15);
    ASSERT_TRUE(eventually([&] { return s.get().connection_count() == 2; }));
    std::mt19937 rng(3);
    const std::string chunk = payload(rng, 32 * 1024, true);  // does not shrink
    for (int i = 0; i < 400 && closed_1008 == 0; ++i) {
      s.get().publish("room", chunk, ws::opcode::binary);
      auto f = reader.c->read_frame();
      ASSERT_TRUE(f) << i;
      std::string plain;
      ASSERT_EQ(reader.codec->inflate(f->payload, true, plain, 1 << 20),
                ws::deflate_codec::result::ok);
      ASSERT_EQ(plain, chunk);
    }
    EXPECT_TRUE(eventually([&] { return closed_1008 == 1; })) << "takeover " << takeover;
    EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 1; }));
    // The reader is still served after the slow one went.
    s.get().publish("room", "after the slow subscriber left, still compressed", ws::opcode::text);
    auto f = reader.c->read_frame();
    ASSERT_TRUE(f);
    std::string plain;
    ASSERT_EQ(reader.codec->inflate(f->payload, true, plain, 1 << 20),
              ws::deflate_codec::result::ok);
    EXPECT_EQ(plain, "after the slow subscriber left, still compressed");
  }
}

// A subscriber that closes while publications are in flight leaves the others whole.
TEST(CompressedBroadcast, SubscriberClosingMidStreamLeavesOthersWhole) {
  server_options o;
  o.deflate.enabled = true;
  running_server s(o, plain_room());
  auto a = join_raw(s.port(), false, 15);
  auto b = join_raw(s.port(), true, 15);
  auto gone = join_raw(s.port(), false, 15);
  ASSERT_TRUE(eventually([&] { return s.get().connection_count() == 3; }));
  std::mt19937 rng(5);
  std::vector<std::string> sent;
  for (int i = 0; i < 50; ++i) {
    sent.push_back(payload(rng, 100 + rng() % 3000, i % 2 == 0));
    s.get().publish("room", sent.back(), ws::opcode::binary);
    if (i == 10) gone.c.reset();  // closes its socket without a close frame
  }
  for (auto* sub : {&a, &b}) {
    for (const auto& m : sent) {
      auto f = sub->c->read_frame();
      ASSERT_TRUE(f);
      std::string plain;
      ASSERT_EQ(sub->codec->inflate(f->payload, true, plain, 1 << 20),
                ws::deflate_codec::result::ok);
      EXPECT_EQ(plain, m);
    }
  }
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 2; }));
}

}  // namespace
}  // namespace duplex
