// The client address behind proxies, end to end: a PROXY v2 header or forwarded headers are
// believed from a trusted peer only, and what they say is the peer the application sees.
#include <gtest/gtest.h>

#include <mutex>

#include "net/proxy_header.hpp"
#include "support/certs.hpp"
#include "support/test_client.hpp"
#include "support/tls_peer.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

// TCP over IPv4 from 203.0.113.9:5555 to 192.0.2.1:443.
std::string proxy_header() {
  std::string h(net::proxy_v2_signature);
  for (int b : {0x21, 0x11, 0, 12, 203, 0, 113, 9, 192, 0, 2, 1, 0x15, 0xB3, 0x01, 0xBB})
    h += static_cast<char>(b);
  return h;
}

std::string upgrade_request(std::string_view extra_headers = {}) {
  return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         std::string(extra_headers) + "\r\n";
}

// A server that records the peer its upgrade hook and its open socket were told.
struct peer_log {
  std::mutex m;
  std::vector<std::string> hook, open;

  std::function<void(server&)> setup() {
    return [this](server& s) {
      ws_behavior b;
      b.on_upgrade = [this](upgrade_context& ctx) {
        std::lock_guard lock(m);
        hook.push_back(ctx.peer);
        return 0;
      };
      b.on_open = [this](websocket& ws) {
        std::lock_guard lock(m);
        open.push_back(ws.remote_address());
      };
      s.ws("/", std::move(b));
      s.http("/hi", [](const http::request&, http_response& res) { res.body("hi\n"); });
    };
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(m);
    auto all = hook;
    all.insert(all.end(), open.begin(), open.end());
    return all;
  }
};

server_options behind(std::vector<std::string> trusted, bool proxy_protocol, bool forwarded) {
  server_options o;
  o.trusted_proxies = std::move(trusted);
  o.proxy_protocol = proxy_protocol;
  o.forwarded_headers = forwarded;
  o.handshake_timeout = 1000ms;
  o.tick = 20ms;
  return o;
}

TEST(Proxy, AHeaderFromATrustedPeerNamesTheClientWhateverTheSplit) {
  peer_log peers;
  running_server srv(behind({"127.0.0.1"}, true, false), peers.setup());
  const std::string bytes = proxy_header() + upgrade_request();
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{12}, std::size_t{16},
                          std::size_t{27}, std::size_t{28}, std::size_t{40}}) {
    test_client c(srv.port());
    c.send(bytes.substr(0, cut));
    std::this_thread::sleep_for(5ms);
    c.send(bytes.substr(cut));
    ASSERT_EQ(c.read_status(), 101) << cut;
  }
  EXPECT_TRUE(eventually([&] { return peers.seen().size() == 14; }));
  for (const auto& p : peers.seen())
    EXPECT_EQ(p, "203.0.113.9:5555");
}

TEST(Proxy, ATrustedPeerWithoutAHeaderIsClosedAndLogged) {
  peer_log peers;
  running_server srv(behind({"127.0.0.0/8"}, true, false), peers.setup());
  test_client c(srv.port());
  c.send(upgrade_request());
  EXPECT_TRUE(c.wait_eof());
  EXPECT_EQ(c.last_head(), "");
  EXPECT_TRUE(srv.logged("PROXY header refused from 127.0.0.1"));
  EXPECT_TRUE(peers.seen().empty());
}

TEST(Proxy, AHeaderFromAnUntrustedPeerIsABadRequestAndNeverBelieved) {
  peer_log peers;
  running_server srv(behind({"10.0.0.0/8"}, true, false), peers.setup());
  test_client liar(srv.port());
  liar.send(proxy_header() + upgrade_request());
  EXPECT_EQ(liar.read_status(), 400);
  test_client plain(srv.port());
  ASSERT_EQ(plain.upgrade(), 101);
  ASSERT_TRUE(eventually([&] { return peers.seen().size() == 2; }));
  for (const auto& p : peers.seen())
    EXPECT_TRUE(p.starts_with("127.0.0.1:")) << p;
}

TEST(Proxy, TheHeaderComesBeforeTls) {
  cert_files certs("DNS:localhost");
  ASSERT_TRUE(certs.ok);
  auto o = behind({"127.0.0.1"}, true, false);
  o.tls.cert_file = certs.cert;
  o.tls.key_file = certs.key;
  peer_log peers;
  running_server srv(o, peers.setup());
  tls_peer peer(srv.port(), "localhost", proxy_header());
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(peer.get("/hi"), "hi\n");
}

TEST(Forwarded, BelievedFromATrustedPeerOnly) {
  peer_log trusting_log, wary_log;
  running_server trusting(behind({"127.0.0.1"}, false, true), trusting_log.setup());
  running_server wary(behind({"10.0.0.0/8"}, false, true), wary_log.setup());
  const std::string xff = "X-Forwarded-For: 1.1.1.1, 198.51.100.1\r\n";
  test_client a(trusting.port()), b(wary.port());
  a.send(upgrade_request(xff));
  b.send(upgrade_request(xff));
  EXPECT_EQ(a.read_status(), 101);
  EXPECT_EQ(b.read_status(), 101);
  ASSERT_TRUE(eventually([&] { return trusting_log.seen().size() == 2; }));
  ASSERT_TRUE(eventually([&] { return wary_log.seen().size() == 2; }));
  for (const auto& p : trusting_log.seen())
    EXPECT_EQ(p, "198.51.100.1");
  for (const auto& p : wary_log.seen())
    EXPECT_TRUE(p.starts_with("127.0.0.1:")) << p;
}

TEST(Forwarded, OffUnlessAskedEvenFromATrustedPeer) {
  peer_log peers;
  running_server srv(behind({"127.0.0.1"}, false, false), peers.setup());
  test_client c(srv.port());
  c.send(upgrade_request("Forwarded: for=198.51.100.1\r\n"));
  EXPECT_EQ(c.read_status(), 101);
  ASSERT_TRUE(eventually([&] { return peers.seen().size() == 2; }));
  for (const auto& p : peers.seen())
    EXPECT_TRUE(p.starts_with("127.0.0.1:")) << p;
}

// A body route that answers with the peer its exchange reports.
void peer_route(server& s) {
  s.http_body("/peer", [](http_exchange ex, std::string) {
    ex.respond(http_response().body(std::string(ex.peer())));
  });
}

// POSTs to /peer on a kept-alive connection and returns the body of the answer.
std::string posted_peer(test_client& c, std::string_view extra_headers = {}) {
  c.send("POST /peer HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n" + std::string(extra_headers) +
         "\r\nhi");
  if (c.read_status() != 200) return "no answer";
  const std::string& r = c.last_head();
  return r.substr(r.find("\r\n\r\n") + 4);
}

TEST(Forwarded, ABodyRouteSeesTheClientOfATrustedPeerOnly) {
  running_server trusting(behind({"127.0.0.1"}, false, true), peer_route);
  running_server wary(behind({"10.0.0.0/8"}, false, true), peer_route);
  const std::string fwd = "Forwarded: for=\"[2001:db8::7]:4711\";proto=https\r\n";
  test_client a(trusting.port()), b(wary.port());
  EXPECT_EQ(posted_peer(a, fwd), "[2001:db8::7]:4711");
  EXPECT_TRUE(posted_peer(b, fwd).starts_with("127.0.0.1:"));
}

TEST(Forwarded, EachRequestOnAProxysConnectionHasItsOwnClient) {
  running_server srv(behind({"127.0.0.1"}, false, true), peer_route);
  test_client c(srv.port());
  EXPECT_EQ(posted_peer(c, "X-Forwarded-For: 198.51.100.1\r\n"), "198.51.100.1");
  EXPECT_EQ(posted_peer(c, "X-Forwarded-For: 198.51.100.2\r\n"), "198.51.100.2");
  EXPECT_TRUE(posted_peer(c).starts_with("127.0.0.1:")) << "no header: the proxy itself";
}

TEST(Forwarded, APlainRouteSeesTheClientOfATrustedPeerOnly) {
  const auto who = [](server& s) {
    s.http("/who",
           [](const http::request&, http_response& res) { res.body(std::string(res.peer())); });
  };
  running_server trusting(behind({"127.0.0.1"}, false, true), who);
  running_server wary(behind({"10.0.0.0/8"}, false, true), who);
  const auto ask = [](test_client& c) {
    c.send("GET /who HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.3\r\n\r\n");
    if (c.read_status() != 200) return std::string("no answer");
    const std::string& r = c.last_head();
    return r.substr(r.find("\r\n\r\n") + 4);
  };
  test_client a(trusting.port()), b(wary.port());
  EXPECT_EQ(ask(a), "198.51.100.3");
  EXPECT_TRUE(ask(b).starts_with("127.0.0.1:"));
}

TEST(Forwarded, ABodyRouteIgnoresTheHeadersWhenOff) {
  running_server srv(behind({"127.0.0.1"}, false, false), peer_route);
  test_client c(srv.port());
  EXPECT_TRUE(posted_peer(c, "Forwarded: for=198.51.100.1\r\n").starts_with("127.0.0.1:"));
}

TEST(Proxy, ABodyRouteSeesTheClientOfAProxyHeader) {
  running_server srv(behind({"127.0.0.1"}, true, false), peer_route);
  test_client c(srv.port());
  c.send(proxy_header());
  EXPECT_EQ(posted_peer(c), "203.0.113.9:5555");
}

TEST(Proxy, AnEntryThatIsNotAnAddressIsRefusedAtConstruction) {
  server_options o;
  o.trusted_proxies = {"proxy.example"};
  EXPECT_THROW(server{o}, std::invalid_argument);
}

}  // namespace
}  // namespace duplex
