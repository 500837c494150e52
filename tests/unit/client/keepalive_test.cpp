// The client's keepalive: pings after a quiet interval, and a peer that stays silent given up.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "duplex/client/client.hpp"
#include "duplex/ws/handshake.hpp"
#include "support/echo_fixture.hpp"
#include "support/loopback_listener.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

// Answers the upgrade, then reads everything and answers nothing: not even a pong.
class mute_server {
 public:
  mute_server() {
    thread_ = std::thread([this] {
      const int c = listener_.accept_one();
      if (c < 0) return;
      const std::string req = read_head(c);
      const auto at = req.find("Sec-WebSocket-Key: ") + 19;
      const std::string res =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          ws::accept_key(req.substr(at, req.find("\r\n", at) - at)) + "\r\n\r\n";
      ::send(c, res.data(), res.size(), MSG_NOSIGNAL);
      char buf[4096];
      for (pollfd p{c, POLLIN, 0}; ::poll(&p, 1, 3000) > 0;) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        // A masked ping from the client starts with 0x89.
        if (static_cast<unsigned char>(buf[0]) == 0x89) ++pings;
      }
      ::close(c);
    });
  }
  ~mute_server() {
    listener_.close();
    thread_.join();
  }
  std::uint16_t port() const { return listener_.port(); }
  std::atomic<int> pings{0};

 private:
  loopback_listener listener_;
  std::thread thread_;
};

struct run_result {
  int pongs = 0;
  int close_code = 0;
  std::chrono::milliseconds closed_after{};
};

run_result run(std::uint16_t port, client_options o, std::chrono::milliseconds close_after) {
  net::event_loop loop;
  run_result r;
  const auto start = std::chrono::steady_clock::now();
  client_handlers h;
  h.on_open = [&](client& c) { loop.add_timer(close_after, [&c] { c.close(); }); };
  h.on_pong = [&](client&, std::string_view) { ++r.pongs; };
  h.on_close = [&](client&, ws::close_code code, std::string_view) {
    r.close_code = ws::to_int(code);
    r.closed_after = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  client c(loop, std::move(o), std::move(h));
  loop.add_timer(5000ms, [&] { loop.stop(); });
  c.connect("ws://127.0.0.1:" + std::to_string(port) + "/");
  loop.run();
  return r;
}

TEST(ClientKeepalive, AQuietConnectionIsPingedAndStaysOpen) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  client_options o;
  o.ping_interval = 60ms;
  o.pong_timeout = 200ms;
  const auto r = run(s.port(), o, 500ms);
  EXPECT_GE(r.pongs, 3);
  EXPECT_EQ(r.close_code, 1000);
}

TEST(ClientKeepalive, APeerThatNeverAnswersIsGivenUpWith1001) {
  mute_server mute;
  client_options o;
  o.ping_interval = 100ms;
  o.pong_timeout = 150ms;
  const auto r = run(mute.port(), o, 3000ms);
  EXPECT_EQ(r.close_code, 1001);
  EXPECT_GE(r.closed_after, 240ms);
  EXPECT_LT(r.closed_after, 1500ms);
  EXPECT_EQ(r.pongs, 0);
  EXPECT_GE(mute.pings.load(), 1);
}

TEST(ClientKeepalive, OffByDefault) {
  mute_server mute;
  client_options o;
  o.close_timeout = 200ms;  // the mute server does not answer the close either
  const auto r = run(mute.port(), o, 400ms);
  EXPECT_EQ(mute.pings.load(), 0);
  EXPECT_NE(r.close_code, 1001);
}

}  // namespace
}  // namespace duplex
