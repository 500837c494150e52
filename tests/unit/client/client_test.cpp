#include "duplex/client/client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "duplex/ws/handshake.hpp"
#include "support/echo_fixture.hpp"
#include "support/loopback_listener.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

struct outcome {
  std::vector<std::pair<std::string, ws::opcode>> messages;
  std::vector<std::string> pongs;
  int close_code = 0;
  std::string close_reason;
  std::string error;
  std::error_code error_code;
  bool opened = false;
};

// Runs one client on a fresh loop until it closes, fails, or `limit` passes.
outcome run_client(const std::string& url, client_options opts,
                   std::function<void(client&)> on_open,
                   std::function<void(client&, std::string_view, ws::opcode)> on_message = {},
                   std::chrono::milliseconds limit = 5000ms) {
  net::event_loop loop;
  outcome out;
  client_handlers h;
  h.on_open = [&](client& c) {
    out.opened = true;
    if (on_open) on_open(c);
  };
  h.on_message = [&](client& c, std::string_view d, ws::opcode op) {
    out.messages.emplace_back(std::string(d), op);
    if (on_message) on_message(c, d, op);
  };
  h.on_pong = [&](client&, std::string_view d) { out.pongs.emplace_back(d); };
  h.on_close = [&](client&, ws::close_code code_typed, std::string_view reason) {
    const std::uint16_t code = duplex::ws::to_int(code_typed);
    out.close_code = code;
    out.close_reason = reason;
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  h.on_error = [&](client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    out.error = why;
    out.error_code = e.code;
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  client c(loop, std::move(opts), std::move(h));
  loop.add_timer(limit, [&] { loop.stop(); });
  c.connect(url);
  loop.run();
  return out;
}

std::string url(std::uint16_t port, std::string_view path = "/") {
  return "ws://127.0.0.1:" + std::to_string(port) + std::string(path);
}

TEST(Client, EchoesEveryKindOfMessageAndClosesCleanly) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  const std::string big(3 << 20, 'z');
  int step = 0;
  auto out = run_client(
      url(s.port()), {},
      [&](client& c) {
        c.send("hello");
        c.send(std::string(70000, 'b'), ws::opcode::binary);
        c.send(big, ws::opcode::binary);
        c.send_fragment("frag", ws::opcode::text, false);
        c.send_fragment("mented", ws::opcode::continuation, true);
        c.ping("p");
      },
      [&](client& c, std::string_view, ws::opcode) {
        if (++step == 4) c.close(ws::application_code(0), "done");
      });
  ASSERT_EQ(out.messages.size(), 4u) << out.error;
  EXPECT_EQ(out.messages[0].first, "hello");
  EXPECT_EQ(out.messages[1].first.size(), 70000u);
  EXPECT_EQ(out.messages[1].second, ws::opcode::binary);
  EXPECT_TRUE(out.messages[2].first == big);
  EXPECT_EQ(out.messages[3].first, "fragmented");
  EXPECT_EQ(out.pongs, std::vector<std::string>{"p"});
  EXPECT_EQ(out.close_code, 4000);
  EXPECT_TRUE(eventually([&] { return fx.closed().size() == 1; }));
  EXPECT_EQ(fx.closed()[0].code, 4000);
}

TEST(Client, ServerInitiatedCloseAndAbruptEnd) {
  running_server s({}, [](server& srv) {
    ws_behavior b;
    b.on_message = [](websocket& ws, std::string_view d, ws::opcode) {
      if (d == "close") ws.close(ws::application_code(1), "as asked");
      if (d == "drop") ws.terminate();
    };
    srv.ws("/", std::move(b));
  });
  auto a = run_client(url(s.port()), {}, [](client& c) { c.send("close"); });
  EXPECT_EQ(a.close_code, 4001);
  EXPECT_EQ(a.close_reason, "as asked");
  auto b = run_client(url(s.port()), {}, [](client& c) { c.send("drop"); });
  EXPECT_EQ(b.close_code, 1006);
}

TEST(Client, NegotiatesSubprotocolAndCompression) {
  server_options o;
  o.deflate.enabled = true;
  running_server s(o, [](server& srv) {
    ws_behavior b;
    b.subprotocols = {"chat.v1"};
    b.on_message = [](websocket& ws, std::string_view d, ws::opcode op) { ws.send(d, op); };
    srv.ws("/", std::move(b));
  });
  client_options co;
  co.deflate.enabled = true;
  co.subprotocols = {"chat.v2", "chat.v1"};
  std::string protocol, extensions;
  const std::string text(20000, 'q');
  auto out = run_client(
      url(s.port()), co,
      [&](client& c) {
        protocol = c.subprotocol();
        extensions = c.extensions();
        c.send(text);
      },
      [](client& c, std::string_view, ws::opcode) { c.close(); });
  EXPECT_EQ(protocol, "chat.v1");
  EXPECT_EQ(extensions.rfind("permessage-deflate", 0), 0u);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0].first, text);
  EXPECT_EQ(out.close_code, 1000);
}

// A one-shot fake server: accepts one connection, reads the request, answers `response`.
class fake_server {
 public:
  explicit fake_server(std::function<std::string(const std::string& request)> answer) {
    thread_ = std::thread([this, answer] {
      const int c = listener_.accept_one();
      if (c < 0) return;
      const std::string res = answer(read_head(c));
      if (!res.empty()) ::send(c, res.data(), res.size(), MSG_NOSIGNAL);
      // Holds the connection until the client has given up on it (its FIN), not a fixed time.
      char buf[4096];
      for (pollfd p{c, POLLIN, 0}; ::poll(&p, 1, 2000) > 0;)
        if (::recv(c, buf, sizeof buf, 0) <= 0) break;
      ::close(c);
    });
  }
  ~fake_server() {
    listener_.close();
    thread_.join();
  }
  std::uint16_t port() const { return listener_.port(); }

 private:
  loopback_listener listener_;
  std::thread thread_;
};

std::string key_of(const std::string& req) {
  const auto at = req.find("Sec-WebSocket-Key: ") + 19;
  return req.substr(at, req.find("\r\n", at) - at);
}

std::string switching(const std::string& accept, const std::string& extra = "") {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         accept + "\r\n" + extra + "\r\n";
}

TEST(Client, RefusesAServerThatDoesNotFollowTheRfc) {
  struct item {
    const char* name;
    std::function<std::string(const std::string&)> answer;
    const char* expect;
  };
  const std::vector<item> items = {
      {"wrong accept", [](const std::string&) { return switching("AAAAAAAAAAAAAAAAAAAAAAAAAAA="); },
       "Accept"},
      {"not 101",
       [](const std::string&) {
         return std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
       },
       "404"},
      {"no upgrade",
       [](const std::string& r) {
         return "HTTP/1.1 101 Switching Protocols\r\nConnection: "
                "Upgrade\r\nSec-WebSocket-Accept: " +
                ws::accept_key(key_of(r)) + "\r\n\r\n";
       },
       "Upgrade"},
      {"unoffered extension",
       [](const std::string& r) {
         return switching(ws::accept_key(key_of(r)),
                          "Sec-WebSocket-Extensions: permessage-deflate\r\n");
       },
       "extension"},
      {"unoffered protocol",
       [](const std::string& r) {
         return switching(ws::accept_key(key_of(r)), "Sec-WebSocket-Protocol: made.up\r\n");
       },
       "subprotocol"},
      {"garbage", [](const std::string&) { return std::string("SSH-2.0-OpenSSH\r\n\r\n"); },
       "malformed"},
      {"silence", [](const std::string&) { return std::string(); }, "timed out"},
  };
  for (const auto& it : items) {
    fake_server fake(it.answer);
    client_options co;
    co.open_timeout = 300ms;
    auto out = run_client(url(fake.port()), co, nullptr);
    EXPECT_FALSE(out.opened) << it.name;
    EXPECT_NE(out.error.find(it.expect), std::string::npos) << it.name << ": " << out.error;
  }
}

TEST(Client, AcceptsFramesThatArriveWithThe101) {
  fake_server fake([](const std::string& r) {
    return switching(ws::accept_key(key_of(r))) + std::string("\x81\x05hello\x88\x02\x03\xe8", 11);
  });
  auto out = run_client(url(fake.port()), {}, nullptr);
  ASSERT_EQ(out.messages.size(), 1u) << out.error;
  EXPECT_EQ(out.messages[0].first, "hello");
  EXPECT_EQ(out.close_code, 1000);
}

TEST(Client, ConnectionRefusedAndBadUrls) {
  std::uint16_t dead_port;
  {
    running_server s({}, [](server&) {});
    dead_port = s.port();
  }
  auto refused = run_client(url(dead_port), {}, nullptr);
  EXPECT_NE(refused.error.find("connect"), std::string::npos) << refused.error;
  for (const char* bad : {"http://127.0.0.1/", "ws://", "ws://host:99999/", "ws://user@host/",
                          "ws://[::1/", "ws://h/a b"}) {
    auto out = run_client(bad, {}, nullptr);
    EXPECT_FALSE(out.error.empty()) << bad;
  }
}

TEST(WsUrl, Parts) {
  ws_url u;
  ASSERT_TRUE(ws_url::parse("ws://example.com/chat?x=1", u));
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.target, "/chat?x=1");
  EXPECT_EQ(u.host_header(), "example.com");
  ASSERT_TRUE(ws_url::parse("wss://[::1]:8443", u));
  EXPECT_TRUE(u.secure);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.host_header(), "[::1]:8443");
  ASSERT_TRUE(ws_url::parse("ws://h:9?q", u));
  EXPECT_EQ(u.target, "/?q");
}

TEST(Client, ErrorsAreTyped) {
  std::uint16_t dead_port;
  {
    running_server s({}, [](server&) {});
    dead_port = s.port();
  }
  EXPECT_EQ(run_client(url(dead_port), {}, nullptr).error_code, client_errc::connect_failed);
  EXPECT_EQ(run_client("http://127.0.0.1/", {}, nullptr).error_code, client_errc::bad_url);
  EXPECT_EQ(run_client("ws://host:99999/", {}, nullptr).error_code, client_errc::bad_url);
  client_options bad_header;
  bad_header.headers = {{"X", "a\r\nEvil: 1"}};
  const auto h = run_client(url(dead_port), bad_header, nullptr);
  EXPECT_EQ(h.error_code, client_errc::header_not_allowed);
  EXPECT_NE(h.error.find("X"), std::string::npos) << h.error;
  struct item {
    std::function<std::string(const std::string&)> answer;
    client_errc expect;
  };
  const std::vector<item> items = {
      {[](const std::string&) { return std::string("HTTP/1.1 403 Forbidden\r\n\r\n"); },
       client_errc::refused},
      {[](const std::string&) { return std::string("SSH-2.0-OpenSSH\r\n\r\n"); },
       client_errc::bad_handshake},
      {[](const std::string& r) {
         return switching(ws::accept_key(key_of(r)), "Sec-WebSocket-Protocol: made.up\r\n");
       },
       client_errc::bad_handshake},
      {[](const std::string&) { return std::string(); }, client_errc::open_timeout},
  };
  for (const auto& it : items) {
    fake_server fake(it.answer);
    client_options co;
    co.open_timeout = 300ms;
    const auto out = run_client(url(fake.port()), co, nullptr);
    EXPECT_EQ(out.error_code, it.expect) << out.error;
    EXPECT_FALSE(out.error.empty());
  }
}

TEST(Client, FragmentsArriveWithTheirLastFlag) {
  // Text "hel" + "lo" in two frames, then a close: as a server without masks would send them.
  const auto answer = [](const std::string& r) {
    return switching(ws::accept_key(key_of(r))) +
           std::string("\x01\x03hel\x80\x02lo\x88\x02\x03\xe8", 13);
  };
  struct piece {
    std::string data;
    ws::opcode op;
    bool last;
  };
  for (bool with_handler : {true, false}) {
    fake_server fake(answer);
    net::event_loop loop;
    std::vector<piece> pieces;
    std::vector<std::string> messages;
    client_options co;
    co.ws_limits.stream_fragments = true;
    client_handlers h;
    if (with_handler) {
      h.on_fragment = [&](client&, std::string_view d, ws::opcode op, bool last) {
        pieces.push_back({std::string(d), op, last});
      };
    }
    h.on_message = [&](client&, std::string_view d, ws::opcode) { messages.emplace_back(d); };
    h.on_close = [&](client&, ws::close_code, std::string_view) {
      loop.add_timer(0ms, [&] { loop.stop(); });
    };
    client c(loop, co, std::move(h));
    loop.add_timer(5000ms, [&] { loop.stop(); });
    c.connect(url(fake.port()));
    loop.run();
    std::string joined;
    if (with_handler) {
      ASSERT_FALSE(pieces.empty());
      EXPECT_TRUE(messages.empty());
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        EXPECT_EQ(pieces[i].op, ws::opcode::text);
        EXPECT_EQ(pieces[i].last, i + 1 == pieces.size());
        joined += pieces[i].data;
      }
    } else {  // without on_fragment, the pieces reach on_message as they did before
      for (const auto& m : messages)
        joined += m;
    }
    EXPECT_EQ(joined, "hello") << with_handler;
  }
}

TEST(Client, DrainFiresOnceTheQueueFallsToTheMark) {
  // A server that answers the handshake, then reads nothing until the client has queued: the
  // client's queue must grow past the mark, and fall back once the server reads it all. (It
  // used to sleep 300 ms instead; on a busy machine building the 32 MiB frame took longer, the
  // server was reading by the time of the second write, and nothing was ever queued.)
  const std::size_t size = 32u << 20;
  loopback_listener listener;
  std::atomic<std::size_t> received{0};
  std::atomic<bool> sent{false};
  std::thread peer([&] {
    const int c = listener.accept_one();
    if (c < 0) return;
    const std::string req = read_head(c);
    const std::string res = switching(ws::accept_key(key_of(req)));
    ::send(c, res.data(), res.size(), MSG_NOSIGNAL);
    for (int i = 0; i < 1000 && !sent; ++i)
      std::this_thread::sleep_for(10ms);
    char buf[65536];
    for (pollfd p{c, POLLIN, 0}; received<size&& ::poll(&p, 1, 5000)> 0;) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      received += static_cast<std::size_t>(n);
    }
    ::close(c);
  });
  net::event_loop loop;
  const std::string big(size, 'd');
  int drains = 0;
  std::size_t queued_at_send = 0;
  std::size_t queued_at_drain = 0;
  client_options co;
  co.max_backpressure = 2 * size;
  co.drain_watermark = 64 * 1024;
  client_handlers h;
  h.on_open = [&](client& c) {
    queued_at_send = c.send(big, ws::opcode::binary).buffered_amount;
    sent = true;
  };
  h.on_drain = [&](client& c) {
    if (drains++ == 0) queued_at_drain = c.buffered_amount();
    if (c.buffered_amount() == 0) c.terminate();
  };
  h.on_close = [&](client&, ws::close_code, std::string_view) {
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  client c(loop, co, std::move(h));
  loop.add_timer(10000ms, [&] { loop.stop(); });
  c.connect(url(listener.port()));
  loop.run();
  c.terminate();
  peer.join();
  EXPECT_GT(queued_at_send, co.drain_watermark);
  EXPECT_EQ(drains, 1);
  EXPECT_LE(queued_at_drain, co.drain_watermark);
}

}  // namespace
}  // namespace duplex
