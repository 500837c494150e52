// Plain HTTP beside the WebSocket routes: handlers, fallback, keep-alive, HEAD, bodies refused.
#include <gtest/gtest.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

std::function<void(server&)> http_setup() {
  return [](server& s) {
    echo_fixture fx;
    ws_behavior b;
    s.ws("/ws", std::move(b));
    s.http("/hello", [](const http::request& req, http_response& res) {
      res.body("hello " + std::string(req.query()) + "\n");
      res.header("X-Injected", "a\r\nSet-Cookie: no");  // refused by the writer
    });
  };
}

TEST(Http, HandlerAnswersAndKeepAliveServesTheNextRequest) {
  running_server s({}, http_setup());
  test_client c(s.port());
  c.send("GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /hello?y=2 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(c.read_status(), 200);
  EXPECT_NE(c.last_head().find("hello x=1\n"), std::string::npos);
  EXPECT_EQ(c.last_head().find("Set-Cookie"), std::string::npos);
  ASSERT_EQ(c.read_status(), 200);
  EXPECT_NE(c.last_head().find("hello y=2\n"), std::string::npos);
}

TEST(Http, UnknownPathIs404AndWebSocketPathIs426) {
  running_server s({}, http_setup());
  test_client a(s.port());
  a.send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(a.read_status(), 404);
  a.send("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(a.read_status(), 426);
  EXPECT_NE(a.last_head().find("Upgrade: websocket"), std::string::npos);
}

TEST(Http, HeadHasNoBody) {
  running_server s({}, http_setup());
  test_client c(s.port());
  c.send("HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  // read_status would wait for the announced body; read the raw head instead.
  EXPECT_TRUE(c.wait_eof());
}

TEST(Http, ConnectionCloseAndHttp10CloseAfterTheResponse) {
  running_server s({}, http_setup());
  test_client a(s.port());
  a.send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(a.read_status(), 200);
  EXPECT_TRUE(a.wait_eof());
  test_client b(s.port());
  b.send("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_EQ(b.read_status(), 200);
  EXPECT_TRUE(b.wait_eof());
}

TEST(Http, RequestBodiesAndMissingHostAreRefused) {
  running_server s({}, http_setup());
  test_client a(s.port());
  a.send("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(a.read_status(), 413);
  test_client b(s.port());
  b.send("POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(b.read_status(), 501);
  test_client c(s.port());
  c.send("GET /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.read_status(), 400);
}

}  // namespace
}  // namespace duplex
