// wss:// end to end: our client and our server over TLS, and each refusing what it must.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include "duplex/client/client.hpp"
#include "duplex/ws/handshake.hpp"
#include "support/certs.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

struct result {
  std::vector<std::string> messages;
  int close_code = 0;
  std::string error;
};

result talk(const std::string& url, client_options opts, std::vector<std::string> sends) {
  net::event_loop loop;
  result out;
  client_handlers h;
  h.on_open = [&](client& c) {
    for (auto& s : sends)
      c.send(s, s.size() > 1000 ? ws::opcode::binary : ws::opcode::text);
  };
  h.on_message = [&](client& c, std::string_view d, ws::opcode) {
    out.messages.emplace_back(d);
    if (out.messages.size() == sends.size()) c.close(ws::close_code::normal, "done");
  };
  h.on_close = [&](client&, ws::close_code code_typed, std::string_view) {
    const std::uint16_t code = duplex::ws::to_int(code_typed);
    out.close_code = code;
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  h.on_error = [&](client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    out.error = why;
    loop.add_timer(0ms, [&] { loop.stop(); });
  };
  client c(loop, opts, h);
  loop.add_timer(5000ms, [&] { loop.stop(); });
  c.connect(url);
  loop.run();
  return out;
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok) << "openssl could not make a test certificate";
    server_options o;
    o.tls.cert_file = certs_.cert;
    o.tls.key_file = certs_.key;
    o.deflate.enabled = true;
    o.handshake_timeout = 400ms;
    o.tick = 20ms;
    server_ = std::make_unique<running_server>(o, fx_.setup());
  }
  std::string url(const std::string& host) {
    return "wss://" + host + ":" + std::to_string(server_->port()) + "/";
  }
  client_options trusting() {
    client_options o;
    o.tls.ca_file = certs_.cert;  // self-signed: it is its own authority
    return o;
  }

  cert_files certs_{"DNS:localhost,IP:127.0.0.1"};
  echo_fixture fx_;
  std::unique_ptr<running_server> server_;
};

TEST_F(Tls, EchoOverWssWithVerificationByNameAndAddress) {
  const std::string big(200000, 'b');
  for (const char* host : {"localhost", "127.0.0.1"}) {
    auto opts = trusting();
    opts.deflate.enabled = true;
    auto out = talk(url(host), opts, {"over tls", big});
    ASSERT_EQ(out.messages.size(), 2u) << host << ": " << out.error;
    EXPECT_EQ(out.messages[0], "over tls");
    EXPECT_TRUE(out.messages[1] == big);
    EXPECT_EQ(out.close_code, 1000);
  }
  EXPECT_TRUE(eventually([&] { return fx_.closed().size() == 2; }));
  for (auto& c : fx_.closed())
    EXPECT_EQ(c.code, 1000);
}

TEST_F(Tls, ClientRefusesAnUntrustedOrMisnamedCertificate) {
  auto untrusted = talk(url("localhost"), {}, {"x"});  // the system store does not know it
  EXPECT_NE(untrusted.error.find("TLS handshake failed"), std::string::npos) << untrusted.error;
  cert_files other("DNS:other.example");
  ASSERT_TRUE(other.ok);
  server_options o;
  o.tls.cert_file = other.cert;
  o.tls.key_file = other.key;
  echo_fixture fx;
  running_server misnamed(o, fx.setup());
  client_options trust_other;
  trust_other.tls.ca_file = other.cert;
  auto wrong = talk("wss://localhost:" + std::to_string(misnamed.port()) + "/", trust_other, {"x"});
  EXPECT_NE(wrong.error.find("hostname mismatch"), std::string::npos) << wrong.error;
  client_options insecure;
  insecure.tls.verify = false;  // test certificates only
  auto ok = talk("wss://localhost:" + std::to_string(misnamed.port()) + "/", insecure, {"fine"});
  EXPECT_EQ(ok.messages, std::vector<std::string>{"fine"}) << ok.error;
}

TEST_F(Tls, ServerRefusesPlainTextAndSlowTlsHandshakes) {
  auto plain = talk("ws://127.0.0.1:" + std::to_string(server_->port()) + "/", {}, {"x"});
  EXPECT_FALSE(plain.error.empty());
  EXPECT_TRUE(eventually([&] { return server_->logged("TLS error"); }));
  test_client silent(server_->port());  // connects and never starts TLS
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.wait_eof(3000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  auto still = talk(url("localhost"), trusting(), {"still serving"});
  EXPECT_EQ(still.messages, std::vector<std::string>{"still serving"}) << still.error;
}

TEST(TlsOptions, BadCertificateFilesAreReportedAtStart) {
  server_options o;
  o.tls.cert_file = "/nonexistent/cert.pem";
  o.tls.key_file = "/nonexistent/key.pem";
  EXPECT_THROW(server s(o), std::runtime_error);
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

// Reads from a blocking test socket into a TLS session until `done` says enough.
bool pump_tls(test_client& c, net::tls_session& s, std::string& plain,
              const std::function<bool()>& done) {
  for (int i = 0; i < 200 && !done(); ++i) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[16384];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) return false;
    std::string out;
    if (!s.receive({buf, static_cast<std::size_t>(n)}, plain, out)) return false;
    c.send(out);
  }
  return done();
}

net::tls_options unverified() {
  net::tls_options o;
  o.verify = false;  // the test certificate
  return o;
}

// The TLS handshake, then a WebSocket upgrade through it: true once the 101 has come.
bool upgrade_over_tls(test_client& raw, net::tls_session& s) {
  std::string hello, plain;
  s.start(hello);
  raw.send(hello);
  if (!pump_tls(raw, s, plain, [&] { return s.handshake_done(); })) return false;
  std::string wire;
  s.send(ws::client_request("localhost", "/", "dGhlIHNhbXBsZSBub25jZQ=="), wire);
  raw.send(wire);
  if (!pump_tls(raw, s, plain, [&] { return plain.find("\r\n\r\n") != std::string::npos; }))
    return false;
  return plain.rfind("HTTP/1.1 101", 0) == 0;
}

// A TLS error on an open WebSocket (garbage where records should be) still ends in on_close.
TEST_F(Tls, GarbageAfterTheUpgradeStillReportsTheClose) {
  test_client raw(server_->port());
  net::tls_session s(net::tls_context::client(unverified()), false, "localhost");
  ASSERT_TRUE(upgrade_over_tls(raw, s));
  EXPECT_TRUE(eventually([&] { return fx_.opened == 1; }));
  raw.send(std::string(64, '\x17'));  // not a TLS record
  EXPECT_TRUE(eventually([&] { return fx_.closed().size() == 1; }));
  EXPECT_EQ(fx_.closed().at(0).code, 1006);
}

// A peer's close_notify on an open WebSocket ends it (1006), even with TCP left open and no
// idle timeout to come: without it the socket and its on_close would wait for a FIN forever.
TEST_F(Tls, ClosingTlsWithoutTcpEndsTheWebSocket) {
  test_client raw(server_->port());
  net::tls_session s(net::tls_context::client(unverified()), false, "localhost");
  ASSERT_TRUE(upgrade_over_tls(raw, s));
  EXPECT_TRUE(eventually([&] { return fx_.opened == 1; }));
  std::string notify;
  s.close_notify(notify);
  raw.send(notify);  // and TCP stays open
  EXPECT_TRUE(eventually([&] { return fx_.closed().size() == 1; }, 2000));
  ASSERT_EQ(fx_.closed().size(), 1u);
  EXPECT_EQ(fx_.closed().at(0).code, 1006);
  EXPECT_TRUE(raw.wait_eof(2000));
}

}  // namespace
}  // namespace duplex
