// Runs every conformance case against our server and against our client. The endpoint under
// test echoes each message; the runner plays the other side with raw frames.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cases.hpp"
#include "duplex/client/client.hpp"
#include "duplex/ws/handshake.hpp"
#include "support/echo_fixture.hpp"
#include "support/loopback_listener.hpp"

namespace duplex::conformance {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

// One side of a connection as raw frames: builds what a case sends, collects what comes back.
class peer {
 public:
  peer(int fd, bool masks) : fd_(fd), masks_(masks) {}
  void use_deflate(const ws::deflate_params& p, bool server) {
    codec_ = std::make_unique<ws::deflate_codec>(server, p, 6);
  }

  void send_case(const case_spec& c) {
    for (const auto& write : c.writes) {
      std::string bytes;
      for (const auto& f : write) {
        std::string payload = f.payload;
        std::uint8_t first = f.first;
        if (f.compress) {
          payload.clear();
          codec_->compress(f.payload, payload);
          first |= 0x40;
        }
        bytes += frame(first, payload, masks_, f.len_form);
      }
      const std::size_t piece = c.chunk ? c.chunk : bytes.size();
      for (std::size_t at = 0; at < bytes.size(); at += piece)
        send_raw(std::string_view(bytes).substr(at, piece));
    }
  }
  void send_raw(std::string_view b) {
    while (!b.empty()) {
      const ssize_t n = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the endpoint may have closed already: what it sent is checked
      b.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // The next frame (compressed messages inflated), or nullopt at EOF or timeout.
  std::optional<parsed_frame> next(int timeout_ms) {
    parsed_frame f;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!take_frame(buf_, f)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            end - std::chrono::steady_clock::now())
                            .count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
      char tmp[65536];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
    if (f.first & 0x40) {
      std::string plain;
      if (!codec_ ||
          codec_->inflate(f.payload, true, plain, 64 << 20) != ws::deflate_codec::result::ok)
        return std::nullopt;
      f.payload = std::move(plain);
      f.first &= static_cast<std::uint8_t>(~0x40);
    }
    return f;
  }
  bool eof(int timeout_ms) {
    while (next(timeout_ms)) {
    }
    pollfd p{fd_, POLLIN, 0};
    char b;
    return ::poll(&p, 1, timeout_ms) > 0 && ::recv(fd_, &b, 1, 0) <= 0;
  }

 private:
  int fd_;
  bool masks_;
  std::string buf_;
  std::unique_ptr<ws::deflate_codec> codec_;
};

// Plays the case and checks the endpoint's answers; returns what went wrong (empty: passed).
std::string play(peer& p, const case_spec& c, bool masks) {
  p.send_case(c);
  std::vector<expected_frame> got;
  std::optional<std::uint16_t> closed;
  const int wait = 20000;
  while (!closed && (got.size() < c.expect.size() || !c.codes.empty())) {
    auto f = p.next(wait);
    if (!f) break;
    if (f->opcode() == 0x8) {
      closed = f->close_code();
    } else {
      got.push_back({f->opcode(), f->payload});
    }
  }
  if (!closed && c.codes.empty()) {
    p.send_raw(frame(0x88, std::string("\x03\xe8", 2), masks));
    auto f = p.next(wait);
    while (f && f->opcode() != 0x8) {
      got.push_back({f->opcode(), f->payload});
      f = p.next(wait);
    }
    if (f) closed = f->close_code();
  }
  std::string why;
  if (got.size() != c.expect.size())
    why += "got " + std::to_string(got.size()) + " frames, expected " +
           std::to_string(c.expect.size()) + "; ";
  for (std::size_t i = 0; i < std::min(got.size(), c.expect.size()); ++i) {
    if (got[i].opcode != c.expect[i].opcode || got[i].payload != c.expect[i].payload)
      why += "frame " + std::to_string(i) + " differs (opcode " + std::to_string(got[i].opcode) +
             ", " + std::to_string(got[i].payload.size()) + " bytes); ";
  }
  const std::vector<std::uint16_t> allowed =
      c.codes.empty() ? std::vector<std::uint16_t>{1000} : c.codes;
  if (!closed) {
    why += "no close frame; ";
  } else if (std::find(allowed.begin(), allowed.end(), *closed) == allowed.end()) {
    why += "closed with " + std::to_string(*closed) + "; ";
  }
  return why;
}

std::string case_name(const ::testing::TestParamInfo<case_ref>& i) {
  return i.param.name();
}

class ServerRole : public ::testing::TestWithParam<case_ref> {};

TEST_P(ServerRole, Conforms) {
  const case_spec c = GetParam().build();
  echo_fixture fx;
  server_options o;
  o.deflate.enabled = true;
  running_server s(o, fx.setup());
  test_client cl(s.port());
  std::string extra;
  if (c.deflate) extra = "Sec-WebSocket-Extensions: " + ws::deflate_offer(c.offer) + "\r\n";
  cl.send(
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      extra + "\r\n");
  ASSERT_EQ(cl.read_status(), 101);
  peer p(cl.fd(), true);
  if (c.deflate) {
    const auto& head = cl.last_head();
    const auto at = head.find("Sec-WebSocket-Extensions: ");
    ASSERT_NE(at, std::string::npos) << c.id << ": compression not agreed";
    const auto value = head.substr(at + 26, head.find("\r\n", at) - at - 26);
    auto params = ws::accept_deflate_response(value, c.offer);
    ASSERT_TRUE(params) << c.id << ": " << value;
    p.use_deflate(*params, false);
  }
  EXPECT_EQ(play(p, c, true), "") << c.id << ": " << c.requirement;
  EXPECT_TRUE(p.eof(3000)) << c.id << ": the server must close TCP after the close handshake";
}

INSTANTIATE_TEST_SUITE_P(Autobahn, ServerRole, ::testing::ValuesIn(all_cases()), case_name);

// The client under test connects to this one-connection server, which plays the case.
class scripted_server {
 public:
  explicit scripted_server(const case_spec& c) : case_(c) {
    thread_ = std::thread([this] { run(); });
  }
  ~scripted_server() {
    listener_.close();
    if (thread_.joinable()) thread_.join();
  }
  std::string verdict() {
    thread_.join();
    return result_;
  }
  std::uint16_t port() const { return listener_.port(); }

 private:
  const case_spec& case_;
  loopback_listener listener_;
  void run() {
    const int c = listener_.accept_one();
    if (c < 0) return;
    const int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::string req = read_head(c);
    auto header = [&](const std::string& name) {
      const auto at = req.find(name + ": ");
      return at == std::string::npos
                 ? std::string()
                 : req.substr(at + name.size() + 2, req.find("\r\n", at) - at - name.size() - 2);
    };
    std::string res =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
        "Upgrade\r\nSec-WebSocket-Accept: " +
        ws::accept_key(header("Sec-WebSocket-Key")) + "\r\n";
    peer p(c, false);
    if (case_.deflate) {
      ws::deflate_options mine;
      mine.enabled = true;
      auto agreed = ws::negotiate_deflate(header("Sec-WebSocket-Extensions"), mine);
      if (!agreed) {
        result_ = "the client's offer was not acceptable: " + header("Sec-WebSocket-Extensions");
        ::close(c);
        return;
      }
      res += "Sec-WebSocket-Extensions: " + agreed->response + "\r\n";
      p.use_deflate(agreed->params, true);
    }
    res += "\r\n";
    p.send_raw(res);
    result_ = play(p, case_, false);
    ::close(c);
  }

  std::thread thread_;
  std::string result_;
};

class ClientRole : public ::testing::TestWithParam<case_ref> {};

TEST_P(ClientRole, Conforms) {
  const case_spec c = GetParam().build();
  scripted_server srv(c);
  net::event_loop loop;
  client_options o;
  o.deflate = c.offer;
  o.deflate.enabled = c.deflate;
  o.close_timeout = 2000ms;
  client_handlers h;
  h.on_message = [](client& cl, std::string_view d, ws::opcode op) { cl.send(d, op); };
  h.on_close = [&](client&, ws::close_code, std::string_view) {
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  h.on_error = [&](client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    ADD_FAILURE() << c.id << ": " << why;
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  client cl(loop, o, h);
  cl.connect("ws://127.0.0.1:" + std::to_string(srv.port()) + "/");
  loop.add_timer(30s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(srv.verdict(), "") << c.id << ": " << c.requirement;
}

INSTANTIATE_TEST_SUITE_P(Autobahn, ClientRole, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace duplex::conformance
