// tls_session after a fatal error, and with errors left on the thread's OpenSSL error queue:
// OpenSSL's SSL_get_error reads that queue first, so a stale entry made the next session's
// ordinary "want more bytes" look fatal, killing a healthy connection on the same loop thread.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <string>

#include "duplex/client/client.hpp"
#include "duplex/net/tls.hpp"
#include "fail_count.hpp"
#include "support/certs.hpp"
#include "support/test_client.hpp"

namespace duplex::net {
namespace {

class TlsFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok) << "openssl could not make a test certificate";
    tls_options s;
    s.cert_file = certs_.cert;
    s.key_file = certs_.key;
    server_ = tls_context::server(s);
    tls_options c;
    c.verify = false;
    client_ = tls_context::client(c);
  }

  // A client and a server session shuttling records in memory until both are up.
  struct pair {
    tls_session client, server;
    std::string client_plain, server_plain;
    pair(const std::shared_ptr<tls_context>& c, const std::shared_ptr<tls_context>& s)
        : client(c, false, "localhost"), server(s, true) {}
    bool handshake() {
      std::string to_server, to_client;
      client.start(to_server);
      for (int i = 0; i < 10 && !(client.handshake_done() && server.handshake_done()); ++i) {
        to_client.clear();
        if (!to_server.empty() && !server.receive(to_server, server_plain, to_client)) return false;
        to_server.clear();
        if (!to_client.empty() && !client.receive(to_client, client_plain, to_server)) return false;
      }
      return client.handshake_done() && server.handshake_done();
    }
  };

  // A second connection of the same thread reads part of a record: it wants more bytes, which
  // is no error.
  void expect_partial_record_is_no_error(pair& other) {
    std::string record;
    ASSERT_TRUE(other.server.send("hello", record));
    ASSERT_GT(record.size(), 3u);
    std::string reply;
    EXPECT_TRUE(
        other.client.receive(std::string_view(record).substr(0, 3), other.client_plain, reply))
        << other.client.error();
    EXPECT_TRUE(other.client.receive(std::string_view(record).substr(3), other.client_plain, reply))
        << other.client.error();
    EXPECT_EQ(other.client_plain, "hello");
  }

  test::cert_files certs_{"DNS:localhost,IP:127.0.0.1"};
  std::shared_ptr<tls_context> server_, client_;
};

// The client glue answers a TLS read error on an open WebSocket with on_close and then
// close_notify: SSL_shutdown after a fatal error left "shutdown while in init" on the queue.
TEST_F(TlsFaults, CloseNotifyAfterAFatalErrorSendsNothingAndLeavesNoError) {
  pair p(client_, server_), other(client_, server_);
  ASSERT_TRUE(p.handshake());
  ASSERT_TRUE(other.handshake());
  other.client_plain.clear();
  std::string out;
  EXPECT_FALSE(p.client.receive(std::string(64, '\x17'), p.client_plain, out));
  EXPECT_FALSE(p.client.error().empty());
  std::string notify;
  p.client.close_notify(notify);
  EXPECT_TRUE(notify.empty()) << "no orderly end after a fatal alert";
  // And the session stays failed: nothing more goes through it.
  std::string cipher;
  EXPECT_FALSE(p.client.send("after", cipher));
  EXPECT_FALSE(p.client.receive("x", p.client_plain, cipher));
  expect_partial_record_is_no_error(other);
}

// Whatever else runs on the loop thread (the application's own OpenSSL calls) may leave errors
// queued; a session's steps do not read them as their own.
TEST_F(TlsFaults, ErrorsLeftByOthersOnTheThreadAreNotTheSessions) {
  pair other(client_, server_);
  ASSERT_TRUE(other.handshake());
  other.client_plain.clear();
  ASSERT_EQ(BIO_new_file("/nonexistent/duplex", "r"), nullptr);  // queues an error, as apps do
  ASSERT_NE(ERR_peek_error(), 0u);
  expect_partial_record_is_no_error(other);
}

// The seam's hook fails a step as a fatal OpenSSL error does, and the session stays failed.
TEST_F(TlsFaults, AnInjectedFaultIsFatalAndFinal) {
  pair p(client_, server_);
  ASSERT_TRUE(p.handshake());
  {
    test::fault_plan plan;
    plan.calls = test::call_tls_send;
    test::fail_count fc(plan);
    std::string cipher;
    EXPECT_FALSE(p.client.send("hello", cipher));
    EXPECT_TRUE(fc.fired());
    EXPECT_NE(p.client.error().find("injected"), std::string::npos) << p.client.error();
  }
  std::string cipher, notify;
  EXPECT_FALSE(p.client.send("hello", cipher));
  p.client.close_notify(notify);
  EXPECT_TRUE(notify.empty());
}

std::atomic<bool> corrupt_next_write{false};

// The seam's sendmsg, spoiling the last byte (the record's tag) of one write: the peer's
// OpenSSL then fails with "bad record mac", a real fatal error, not an injected one.
ssize_t corrupting_sendmsg(int fd, const msghdr* msg, int flags) {
  if (msg->msg_iovlen != 1 || !corrupt_next_write.exchange(false)) return ::sendmsg(fd, msg, flags);
  std::string copy(static_cast<const char*>(msg->msg_iov[0].iov_base), msg->msg_iov[0].iov_len);
  copy.back() = static_cast<char>(copy.back() ^ 1);
  iovec v{copy.data(), copy.size()};
  msghdr spoiled = *msg;
  spoiled.msg_iov = &v;
  return ::sendmsg(fd, &spoiled, flags);
}

// Two wss:// clients on one loop; the server spoils a record to the first. Its fatal error must
// end it alone: the client glue's close_notify after it queued an error that ended the second
// client's next read as well (1006, its echo lost).
TEST_F(TlsFaults, OneClientsTlsErrorDoesNotEndAnotherOnTheSameLoop) {
  using namespace std::chrono_literals;
  server_options so;
  so.tls.cert_file = certs_.cert;
  so.tls.key_file = certs_.key;
  so.tick = 10ms;
  test::running_server srv(so, [](server& s) {
    ws_behavior b;
    b.on_message = [](websocket& ws, std::string_view d, ws::opcode op) {
      if (d == "spoil") corrupt_next_write = true;
      ws.send(d, op);
    };
    s.ws("/", std::move(b));
  });
  io.sendmsg.store(&corrupting_sendmsg);
  event_loop loop;
  client_options co;
  co.tls.ca_file = certs_.cert;
  const std::string url = "wss://127.0.0.1:" + std::to_string(srv.port()) + "/";
  int opened = 0, first_code = 0, second_code = 0;
  std::string second_got;
  std::unique_ptr<client> first, second;
  client_handlers h1, h2;
  h1.on_open = h2.on_open = [&](client&) {
    if (++opened == 2) first->send("spoil");
  };
  h1.on_close = [&](client&, ws::close_code code_typed, std::string_view) {
    const std::uint16_t code = duplex::ws::to_int(code_typed);
    first_code = code;
    second->send("still here");
  };
  h2.on_message = [&](client& c, std::string_view d, ws::opcode) {
    second_got = d;
    c.close();
  };
  h2.on_close = [&](client&, ws::close_code code_typed, std::string_view) {
    const std::uint16_t code = duplex::ws::to_int(code_typed);
    second_code = code;
    loop.stop();
  };
  first = std::make_unique<client>(loop, co, h1);
  second = std::make_unique<client>(loop, co, h2);
  loop.add_timer(3000ms, [&] { loop.stop(); });
  first->connect(url);
  second->connect(url);
  loop.run();
  io.restore();
  first.reset();
  second.reset();
  EXPECT_EQ(first_code, 1006);
  EXPECT_EQ(second_got, "still here");
  EXPECT_EQ(second_code, 1000);
}

std::atomic<std::size_t> largest_write{0};

ssize_t measuring_sendmsg(int fd, const msghdr* msg, int flags) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < msg->msg_iovlen; ++i)
    n += msg->msg_iov[i].iov_len;
  std::size_t seen = largest_write.load();
  while (n > seen && !largest_write.compare_exchange_weak(seen, n)) {
  }
  return ::sendmsg(fd, msg, flags);
}

// A large message over TLS is encrypted and written a piece at a time, on both sides: the
// peer decrypts the first records while the last are still being encrypted. Written whole,
// each side of a 1 MiB wss echo waited for the other's entire message to be encrypted.
TEST_F(TlsFaults, ALargeMessageLeavesInPiecesAndArrivesWhole) {
  using namespace std::chrono_literals;
  server_options so;
  so.tls.cert_file = certs_.cert;
  so.tls.key_file = certs_.key;
  test::running_server srv(so, [](server& s) {
    ws_behavior b;
    b.on_message = [](websocket& ws, std::string_view d, ws::opcode op) { ws.send(d, op); };
    s.ws("/", std::move(b));
  });
  largest_write = 0;
  io.sendmsg.store(&measuring_sendmsg);
  event_loop loop;
  client_options co;
  co.tls.ca_file = certs_.cert;
  std::string sent(1 << 20, '\0'), got;
  for (std::size_t i = 0; i < sent.size(); ++i)
    sent[i] = static_cast<char>(i * 7 + i / 4096);
  client_handlers h;
  h.on_open = [&](client& c) { c.send(sent, ws::opcode::binary); };
  h.on_message = [&](client&, std::string_view d, ws::opcode) {
    got = d;
    loop.stop();
  };
  client c(loop, co, h);
  loop.add_timer(10s, [&] { loop.stop(); });
  c.connect("wss://127.0.0.1:" + std::to_string(srv.port()) + "/");
  loop.run();
  io.restore();
  EXPECT_TRUE(got == sent) << "echoed " << got.size() << " bytes";
  EXPECT_GT(largest_write.load(), 16u * 1024);
  EXPECT_LT(largest_write.load(), 80u * 1024) << "a write held more than one piece";
}

}  // namespace
}  // namespace duplex::net
