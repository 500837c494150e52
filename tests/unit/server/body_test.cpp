// Request bodies on buffered routes (server::http_body): every split of the input, pipelining
// around bodies, answers given later, the limit (413 and the closing phase), handler failures.
#include <gtest/gtest.h>

#include <optional>

#include "support/body_wire.hpp"
#include "support/echo_fixture.hpp"
#include "support/splits.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

// Answers each body with "<method> <path> <body>", from inside the handler.
void echo_route(body_wire& w, body_options o = {}) {
  w.buffered(
      "/echo",
      [](http_exchange ex, std::string body) {
        ex.respond(http_response().body(std::string(ex.request().method) + " " +
                                        std::string(ex.request().path()) + " " + body));
      },
      o);
}

const std::string post_length =
    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world";
const std::string post_chunked =
    "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n";

void expect_in_every_split(const std::string& input) {
  for (const auto& p : all_splits(input + "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")) {
    body_wire w;
    echo_route(w);
    w.connect();
    for (const auto& piece : p)
      w.send(piece);
    const auto r = w.responses();
    ASSERT_EQ(r.size(), 2u) << describe(p);
    EXPECT_EQ(r[0].status, 200) << describe(p);
    EXPECT_EQ(r[0].body, "POST /echo hello world") << describe(p);
    EXPECT_EQ(r[1].body, "GET /echo ") << describe(p) << ": the pipelined request after it";
    EXPECT_EQ(r[1].head.find("Connection: close"), std::string::npos);
  }
}

TEST(BufferedBody, ContentLengthInEverySplitThenAPipelinedRequest) {
  expect_in_every_split(post_length);
}

TEST(BufferedBody, ChunkedInEverySplitThenAPipelinedRequest) {
  expect_in_every_split(post_chunked);
}

TEST(BufferedBody, EmptyBodiesOfEveryFraming) {
  body_wire w;
  echo_route(w);
  w.connect();
  w.send(
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
      "PUT /echo HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].body, "POST /echo ");
  EXPECT_EQ(r[1].body, "POST /echo ");
  EXPECT_EQ(r[2].body, "PUT /echo ");
  EXPECT_TRUE(w.alive());
}

TEST(BufferedBody, PastTheLimitIs413WithCloseAndTheRestIsNeverParsed) {
  for (const std::string& req :
       {std::string("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"),
        std::string("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n")}) {
    body_wire w;
    echo_route(w, {.max_bytes = 10});
    w.connect();
    w.send(req);
    auto r = w.responses();
    ASSERT_EQ(r.size(), 1u) << req;
    EXPECT_EQ(r[0].status, 413);
    EXPECT_NE(r[0].head.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(w.wire.write_shut()) << "the closing phase: our side is shut down";
    // The client sends its body anyway, with a request hidden in it: read and dropped.
    w.send("hello worldGET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_TRUE(w.responses().empty());
    EXPECT_TRUE(w.alive()) << "draining until the client's FIN";
    w.wire.end();
    w.step();
    EXPECT_FALSE(w.alive());
  }
}

TEST(BufferedBody, ChunkSizeOverflowAndBadFramingAreRefused) {
  struct case_t {
    std::size_t limit;
    std::string chunks;
    int status;
  };
  const case_t cases[] = {
      {SIZE_MAX, "FFFFFFFFFFFFFFFFFFFFFFFF\r\n", 400},  // 64 bits overflow: chunk_size_overflow
      {1024, "FFFFFFFFFFFFFFFFFFFFFFFF\r\n", 413},      // past the limit at its third digit
      {SIZE_MAX, "zz\r\n", 400},
      {SIZE_MAX, "5\r\nhelloXX", 400},
  };
  for (const auto& c : cases) {
    body_wire w;
    echo_route(w, {.max_bytes = c.limit});
    w.connect();
    w.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + c.chunks);
    const auto r = w.responses();
    ASSERT_EQ(r.size(), 1u) << c.chunks;
    EXPECT_EQ(r[0].status, c.status) << c.chunks;
    EXPECT_NE(r[0].head.find("Connection: close"), std::string::npos);
  }
}

TEST(BufferedBody, APipelinedSecondRequestWhoseBodyIsRefused) {
  body_wire w;
  echo_route(w, {.max_bytes = 5});
  w.connect();
  w.send(
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\ntoobig"
      "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].body, "POST /echo ok");
  EXPECT_EQ(r[1].status, 413);
  EXPECT_TRUE(w.wire.write_shut());
}

TEST(BufferedBody, AnswerFromALaterTaskKeepsPipelinedAnswersInOrder) {
  body_wire w;
  std::optional<http_exchange> held;
  w.buffered("/later", [&](http_exchange ex, std::string body) {
    EXPECT_EQ(body, "abc");
    held = ex;
  });
  echo_route(w);
  w.connect();
  w.send(
      "POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(held->open());
  EXPECT_TRUE(w.responses().empty()) << "the second answer waits behind the first";
  w.expire_all();  // awaiting the application: no timer runs
  EXPECT_TRUE(w.alive());
  w.ctx.loop.post([&] { held->respond(http_response().status(201).body("done")); });
  w.step();
  EXPECT_FALSE(held->open());
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, 201);
  EXPECT_EQ(r[0].body, "done");
  EXPECT_EQ(r[1].body, "GET /echo ");
  held->respond(http_response().status(500));  // a second answer is ignored
  EXPECT_TRUE(w.responses().empty());
}

TEST(BufferedBody, AHalfClosedClientGetsTheLaterAnswerThenTheEnd) {
  body_wire w;
  std::optional<http_exchange> held;
  w.buffered("/later", [&](http_exchange ex, std::string) { held = ex; });
  w.connect();
  w.wire.feed("POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
  w.wire.end();
  w.step();
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(held->open());
  held->respond(http_response().body("late"));
  w.step();
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "late");
  EXPECT_FALSE(w.alive());
}

TEST(BufferedBody, AnswerAfterTheConnectionEndedIsHarmless) {
  body_wire w;
  std::optional<http_exchange> held;
  w.buffered("/later", [&](http_exchange ex, std::string) { held = ex; });
  w.connect();
  w.send("POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_TRUE(held.has_value());
  w.ctx.begin_shutdown();  // the connection ends under the application
  w.step();
  EXPECT_FALSE(w.alive());
  EXPECT_FALSE(held->open());
  held->respond(http_response().body("nobody listens"));
  held->pause();
  held->resume();
  w.step();
  EXPECT_EQ(held->request().method, "POST") << "the head outlives the connection";
  EXPECT_EQ(held->request().find("Host").value_or(""), "a");
}

TEST(BufferedBody, AHandlerThatThrowsCostsA500AndTheConnection) {
  body_wire w;
  w.buffered("/boom", [](http_exchange, std::string) { throw std::runtime_error("boom"); });
  w.connect();
  w.send("POST /boom HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 500);
  EXPECT_EQ(w.ctx.loop.exception_count(), 1u);
  EXPECT_TRUE(w.wire.write_shut());
}

TEST(BufferedBody, PrefixRoutesTakeThePathsUnderThemLongestFirst) {
  body_wire w;
  auto named = [](std::string name) {
    return [name](http_exchange ex, std::string) {
      ex.respond(http_response().body(name + " " + std::string(ex.request().path())));
    };
  };
  w.buffered("/api/", named("api"), {.prefix = true});
  w.buffered("/api/admin/", named("admin"), {.prefix = true});
  w.buffered("/api/exact", named("exact"));
  w.connect();
  w.send(
      "GET /api/x/y HTTP/1.1\r\nHost: a\r\n\r\nGET /api/admin/z?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /api/exact HTTP/1.1\r\nHost: a\r\n\r\nGET /apix HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].body, "api /api/x/y");
  EXPECT_EQ(r[1].body, "admin /api/admin/z");
  EXPECT_EQ(r[2].body, "exact /api/exact");
  EXPECT_EQ(r[3].status, 404);
}

TEST(BufferedBody, MissingHostIs400) {
  body_wire w;
  echo_route(w);
  w.connect();
  w.send("POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 400);
}

// Over real sockets, with two loops: an answer from a timer, the peer's address, a throwing
// handler that leaves the server running, and the plain http() routes as they were.
TEST(BufferedBodySockets, TimerAnswersAndFailuresLeaveTheServerRunning) {
  server_options o;
  o.threads = 2;
  running_server s(o, [](server& srv) {
    srv.http_body("/later", [&srv](http_exchange ex, std::string body) {
      srv.loop(ex.loop()).add_timer(std::chrono::milliseconds(20), [ex, body]() mutable {
        ex.respond(http_response().body(body + " from " + std::string(ex.peer().substr(0, 10))));
      });
    });
    srv.http_body("/boom", [](http_exchange, std::string) { throw std::runtime_error("x"); });
    srv.http("/plain", [](const http::request&, http_response& res) { res.body("p"); });
  });
  test_client a(s.port());
  a.send("PUT /later HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\ndata");
  ASSERT_EQ(a.read_status(), 200);
  EXPECT_NE(a.last_head().find("data from 127.0.0.1:"), std::string::npos) << a.last_head();
  test_client b(s.port());
  b.send("POST /boom HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_EQ(b.read_status(), 500);
  EXPECT_GE(s.get().exception_count(), 1u);
  a.send("POST /plain HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_EQ(a.read_status(), 413) << "http() routes still refuse bodies";
  test_client c(s.port());
  c.send("POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(c.read_status(), 200);
}

}  // namespace
}  // namespace duplex
