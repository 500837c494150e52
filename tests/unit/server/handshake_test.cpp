// Opening handshakes over real sockets: each bad request gets its status, good ones upgrade.
#include <gtest/gtest.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

const std::string key_line = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
const std::string good = "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                         key_line + "Sec-WebSocket-Version: 13\r\n";

struct wire_case {
  const char* name;
  std::string request;
  int status;
};

class HandshakeOverTheWire : public ::testing::TestWithParam<wire_case> {};

TEST_P(HandshakeOverTheWire, AnswersWithTheDocumentedStatusAndKeepsServing) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client bad(s.port());
  bad.send(GetParam().request);
  EXPECT_EQ(bad.read_status(), GetParam().status) << bad.last_head();
  EXPECT_TRUE(bad.wait_eof());
  EXPECT_TRUE(s.logged("refused request"));
  // Another client is served as if nothing happened.
  test_client ok(s.port());
  ASSERT_EQ(ok.upgrade(), 101);
  ok.send_text("still here");
  auto f = ok.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "still here");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HandshakeOverTheWire,
    ::testing::Values(
        wire_case{"post", "POST / HTTP/1.1\r\n" + good + "\r\n", 400},
        wire_case{"http10", "GET / HTTP/1.0\r\n" + good + "\r\n", 400},
        wire_case{"no_upgrade_header",
                  "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n" + key_line +
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                  400},
        wire_case{"no_connection_header",
                  "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n" + key_line +
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                  400},
        wire_case{"no_host",
                  "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key_line +
                      "Sec-WebSocket-Version: 13\r\n\r\n",
                  400},
        wire_case{"version_12",
                  "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                      key_line + "Sec-WebSocket-Version: 12\r\n\r\n",
                  426},
        wire_case{"bad_key",
                  "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
                  "Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  400},
        wire_case{"unknown_path", "GET /nowhere HTTP/1.1\r\n" + good + "\r\n", 404},
        wire_case{"garbage", "\x16\x03\x01\x02 hello\r\n\r\n", 400},
        wire_case{"bare_lf", "GET / HTTP/1.1\nHost: a\n\n", 400},
        wire_case{"huge_header", "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n",
                  431},
        wire_case{"huge_target", "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\n\r\n", 414},
        wire_case{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Handshake, VersionRefusalNamesTheSupportedVersion) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  c.send("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key_line +
         "Sec-WebSocket-Version: 8\r\n\r\n");
  ASSERT_EQ(c.read_status(), 426);
  EXPECT_NE(c.last_head().find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST(Handshake, AcceptCarriesTheRfcValue) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  EXPECT_NE(c.last_head().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_TRUE(eventually([&] { return fx.opened == 1; }));
}

TEST(Handshake, FramesInTheSameSegmentAsTheRequestAreKept) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade("/", frame(fin | op_text, "one") + frame(fin | op_text, "two")), 101);
  auto a = c.read_frame();
  auto b = c.read_frame();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->payload, "one");
  EXPECT_EQ(b->payload, "two");
}

TEST(Handshake, ByteByByteRequestStillUpgrades) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  const std::string req = "GET / HTTP/1.1\r\n" + good + "\r\n";
  for (char ch : req) {
    c.send(std::string_view(&ch, 1));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(c.read_status(), 101);
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

using namespace duplex::test;

TEST(Handshake, UpgradeHookSeesTheRequestAndMayRefuse) {
  running_server s({}, [](server& srv) {
    ws_behavior b;
    b.on_upgrade = [](upgrade_context& up) {
      const auto origin = up.request.find("Origin");
      return origin && *origin == "http://evil.example" ? 403 : 0;
    };
    srv.ws("/", std::move(b));
  });
  const std::string head =
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  test_client evil(s.port());
  evil.send(head + "Origin: http://evil.example\r\n\r\n");
  EXPECT_EQ(evil.read_status(), 403);
  EXPECT_TRUE(s.logged("403"));
  test_client friendly(s.port());
  friendly.send(head + "Origin: http://a\r\n\r\n");
  EXPECT_EQ(friendly.read_status(), 101);
}

}  // namespace
}  // namespace duplex
