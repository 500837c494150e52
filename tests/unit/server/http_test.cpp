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

// RFC 9112 section 6.3 item 5: differing Content-Length values are refused with 400 and the
// connection closed, on a plain request and on an upgrade (where a 101 would read the "body"
// as WebSocket frames).
TEST(Http, DifferingContentLengthsAre400AndClose) {
  running_server s({}, http_setup());
  for (const char* lengths :
       {"Content-Length: 0\r\nContent-Length: 5\r\n", "Content-Length: 0, 5\r\n",
        "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"}) {
    SCOPED_TRACE(lengths);
    test_client a(s.port());
    a.send(std::string("GET /hello HTTP/1.1\r\nHost: a\r\n") + lengths + "\r\nhello");
    EXPECT_EQ(a.read_status(), 400);
    EXPECT_TRUE(a.wait_eof());
    test_client b(s.port());
    b.send(std::string(
               "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n") +
           lengths + "\r\nhello");
    EXPECT_EQ(b.read_status(), 400);
    EXPECT_TRUE(b.wait_eof());
  }
}

TEST(Http, ZeroPaddedContentLengthIsZero) {
  running_server s({}, http_setup());
  test_client a(s.port());
  a.send("GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n");
  EXPECT_EQ(a.read_status(), 200);
  test_client b(s.port());
  b.send(
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Content-Length: 000\r\n\r\n");
  EXPECT_EQ(b.read_status(), 101);
}

TEST(Http, AbsoluteFormIsRoutedByItsPath) {
  running_server s({}, http_setup());
  test_client a(s.port());
  a.send("GET http://a:1/hello?z=3 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(a.read_status(), 200);
  EXPECT_NE(a.last_head().find("hello z=3\n"), std::string::npos);
  test_client b(s.port());
  b.send("GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(b.read_status(), 400);
  test_client c(s.port());
  c.send("CONNECT a:80 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_status(), 501);
}

TEST(Http, ManyPipelinedRequestsInOneWrite) {
  running_server s({}, http_setup());
  test_client c(s.port());
  std::string all;
  for (int i = 0; i < 2000; ++i)
    all += "GET /hello?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  c.send(all);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(c.read_status(), 200) << i;
    ASSERT_NE(c.last_head().find("hello n=" + std::to_string(i) + "\n"), std::string::npos) << i;
  }
}

}  // namespace
}  // namespace duplex
