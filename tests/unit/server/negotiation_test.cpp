// Server-side negotiation: subprotocols, the Origin allow-list and the upgrade hook.
#include <gtest/gtest.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

std::string upgrade_with(std::string extra_headers) {
  return "GET /p HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra_headers + "\r\n";
}

std::string header_value(const std::string& head, const std::string& name) {
  const auto at = head.find(name + ": ");
  if (at == std::string::npos) return "";
  const auto b = at + name.size() + 2;
  return head.substr(b, head.find("\r\n", b) - b);
}

std::function<void(server&)> protocols_setup() {
  return [](server& s) {
    ws_behavior b;
    b.subprotocols = {"chat.v2", "chat.v1"};
    b.on_message = [](websocket& ws, std::string_view, ws::opcode) { ws.send(ws.subprotocol()); };
    s.ws("/p", std::move(b));
  };
}

TEST(Negotiation, ServerPreferenceAmongWhatTheClientOffered) {
  running_server s({}, protocols_setup());
  struct item {
    const char* offered;
    const char* agreed;
  };
  for (const auto& it :
       {item{"Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n", "chat.v2"},
        item{"Sec-WebSocket-Protocol: chat.v1\r\n", "chat.v1"},
        item{"Sec-WebSocket-Protocol: other\r\nSec-WebSocket-Protocol: chat.v1\r\n", "chat.v1"},
        item{"Sec-WebSocket-Protocol: other\r\n", ""}, item{"", ""}}) {
    test_client c(s.port());
    c.send(upgrade_with(it.offered));
    ASSERT_EQ(c.read_status(), 101) << it.offered;
    EXPECT_EQ(header_value(c.last_head(), "Sec-WebSocket-Protocol"), it.agreed) << it.offered;
    c.send_text("which?");
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, it.agreed);
  }
}

TEST(Negotiation, OriginAllowList) {
  running_server s({}, [](server& srv) {
    ws_behavior b;
    b.allowed_origins = {"https://chat.example"};
    srv.ws("/p", std::move(b));
  });
  for (auto [origin, status] :
       {std::pair{"Origin: https://chat.example\r\n", 101},
        std::pair{"Origin: https://evil.example\r\n", 403},
        std::pair{"Origin: https://chat.example.evil\r\n", 403}, std::pair{"", 403}}) {
    test_client c(s.port());
    c.send(upgrade_with(origin));
    EXPECT_EQ(c.read_status(), status) << origin;
  }
  EXPECT_TRUE(s.logged("403"));
}

struct session_info {
  std::string user;
  std::string peer;
};

TEST(Negotiation, HookSeesCookiesAndPeerAttachesDataOrRefuses) {
  running_server s({}, [](server& srv) {
    ws_behavior b;
    b.subprotocols = {"a"};
    b.on_upgrade = [](upgrade_context& up) {
      const auto user = up.cookie("session");
      if (!user) return 401;
      if (up.request.query() == "plain") up.subprotocol.clear();
      up.socket.emplace_data<session_info>(session_info{std::string(*user), up.peer});
      return 0;
    };
    b.on_message = [](websocket& ws, std::string_view, ws::opcode) {
      const auto* info = ws.data<session_info>();
      ws.send(info ? info->user + " from " + info->peer.substr(0, 10) + " " +
                         std::string(ws.subprotocol())
                   : "?");
    };
    srv.ws("/p", std::move(b));
  });
  test_client anonymous(s.port());
  anonymous.send(upgrade_with(""));
  EXPECT_EQ(anonymous.read_status(), 401);

  test_client known(s.port());
  known.send(upgrade_with("Cookie: theme=dark; session=alice\r\nSec-WebSocket-Protocol: a\r\n"));
  ASSERT_EQ(known.read_status(), 101);
  known.send_text("who am I?");
  auto f = known.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "alice from 127.0.0.1: a");

  test_client plain(s.port());
  std::string req = upgrade_with("Cookie: session=bob\r\nSec-WebSocket-Protocol: a\r\n");
  req.replace(req.find("/p"), 2, "/p?plain");
  plain.send(req);
  ASSERT_EQ(plain.read_status(), 101);
  EXPECT_EQ(header_value(plain.last_head(), "Sec-WebSocket-Protocol"), "");  // the hook dropped it
}

TEST(Negotiation, HookMayNotAnswerAProtocolNobodyOffered) {
  running_server s({}, [](server& srv) {
    ws_behavior b;
    b.on_upgrade = [](upgrade_context& up) {
      up.subprotocol = "invented";
      return 0;
    };
    srv.ws("/p", std::move(b));
  });
  test_client c(s.port());
  c.send(upgrade_with("Sec-WebSocket-Protocol: real\r\n"));
  EXPECT_EQ(c.read_status(), 500);
  EXPECT_TRUE(s.logged("not offered"));
}

TEST(Negotiation, DeflateIsAgreedOnlyWhenEnabled) {
  for (bool enabled : {false, true}) {
    server_options o;
    o.deflate.enabled = enabled;
    running_server s(o, protocols_setup());
    test_client c(s.port());
    c.send(
        upgrade_with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
    ASSERT_EQ(c.read_status(), 101);
    EXPECT_EQ(header_value(c.last_head(), "Sec-WebSocket-Extensions"),
              enabled ? "permessage-deflate" : "");
  }
}

}  // namespace
}  // namespace duplex
