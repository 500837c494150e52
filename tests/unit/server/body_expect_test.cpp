// Request bodies and time: Expect: 100-continue decided after the route's own checks, answers
// given before the body ended, slow bodies (408) and bodies cut short (on_abort).
#include <gtest/gtest.h>

#include <optional>

#include "support/body_wire.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

// A streaming route that records what it heard and may refuse at the head.
struct recorder {
  std::string data;
  int ends = 0;
  std::vector<std::error_code> aborts;
  bool refuse = false;

  http_stream_behavior behavior(std::size_t max = 1024) {
    http_stream_behavior b;
    b.body.max_bytes = max;
    b.on_head = [this](http_exchange& ex) {
      if (refuse) ex.respond(http_response().status(401).body("who are you"));
    };
    b.on_data = [this](http_exchange&, std::string_view piece) { data += piece; };
    b.on_end = [this](http_exchange& ex) {
      ++ends;
      ex.respond(http_response().body("got " + data));
    };
    b.on_abort = [this](http_exchange& ex, std::error_code why) {
      EXPECT_FALSE(ex.open());
      aborts.push_back(why);
    };
    return b;
  }
};

const std::string expect_head =
    "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

TEST(BodyExpect, ContinueIsSentOnlyOnceTheRouteTookTheHead) {
  body_wire w;
  recorder r;
  w.streaming("/up", r.behavior());
  w.connect();
  w.send(expect_head);
  EXPECT_EQ(w.wire.take_output(), "HTTP/1.1 100 Continue\r\n\r\n");
  w.send("hello");
  const auto got = w.responses();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "got hello");
  EXPECT_EQ(r.ends, 1);
}

TEST(BodyExpect, ARefusalInOnHeadSendsNoContinueAndCloses) {
  body_wire w;
  recorder r;
  r.refuse = true;
  w.streaming("/up", r.behavior());
  w.connect();
  w.send(expect_head);
  const auto got = w.responses();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, 401);
  EXPECT_NE(got[0].head.find("Connection: close"), std::string::npos)
      << "the client may or may not send the body now: no telling where the next head starts";
  EXPECT_TRUE(r.aborts.empty()) << "answered: no abort";
  EXPECT_TRUE(w.wire.write_shut());
}

TEST(BodyExpect, TooLargeOrUnknownExpectationsAreRefusedWithoutContinue) {
  const std::pair<std::string, int> cases[] = {
      {"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2000\r\n\r\n", 413},
      {"POST /up HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\n", 417},
  };
  for (const auto& [head, status] : cases) {
    body_wire w;
    recorder r;
    w.streaming("/up", r.behavior());
    w.connect();
    w.send(head);
    const auto got = w.responses();
    ASSERT_EQ(got.size(), 1u) << head;
    EXPECT_EQ(got[0].status, status);
    EXPECT_EQ(r.aborts.size(), 1u) << "on_head ran: the exchange ends with an abort";
  }
}

TEST(BodyExpect, AnEarlyAnswerDiscardsASmallRestAndKeepsTheConnection) {
  body_wire w;
  recorder r;
  r.refuse = true;
  w.streaming("/up", r.behavior());
  w.buffered("/next", [](http_exchange ex, std::string) { ex.respond(http_response()); });
  w.connect();
  w.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel");
  w.send("loGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto got = w.responses();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, 401);
  EXPECT_EQ(got[0].head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(got[1].status, 200);
  EXPECT_EQ(r.data, "") << "a discarded body reaches nobody";
}

TEST(BodyExpect, AnEarlyAnswerToAChunkedOrLargeBodyCloses) {
  for (const std::string& head :
       {std::string("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        std::string("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")}) {
    body_wire w;
    recorder r;
    r.refuse = true;
    w.streaming("/up", r.behavior(1 << 20));
    w.connect();
    w.send(head + "5\r\nhello\r\n");
    const auto got = w.responses();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].head.find("Connection: close"), std::string::npos) << head;
  }
}

TEST(BodyTimeouts, ASlowBodyIs408AndItsStreamHearsAnAbort) {
  body_wire w;
  recorder r;
  w.streaming("/up", r.behavior());
  w.connect();
  w.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe");
  w.expire_all();
  const auto got = w.responses();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, 408);
  EXPECT_NE(got[0].head.find("Connection: close"), std::string::npos);
  ASSERT_EQ(r.aborts.size(), 1u);
  EXPECT_EQ(r.aborts[0], std::errc::timed_out);
  EXPECT_EQ(r.ends, 0);
}

TEST(BodyTimeouts, TheEndOfInputInsideABodyIsAnAbortNotAnEnd) {
  body_wire w;
  recorder r;
  bool called = false;
  w.streaming("/up", r.behavior());
  w.buffered("/whole", [&](http_exchange, std::string) { called = true; });
  w.connect();
  w.wire.feed("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  w.wire.end();
  w.step();
  ASSERT_EQ(r.aborts.size(), 1u);
  EXPECT_EQ(r.aborts[0], http::errc::body_truncated);
  EXPECT_EQ(r.data, "abc");
  EXPECT_EQ(r.ends, 0);
  EXPECT_FALSE(w.alive());

  body_wire v;
  v.buffered("/whole", [&](http_exchange, std::string) { called = true; });
  v.connect();
  v.wire.feed("POST /whole HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc");
  v.wire.end();
  v.step();
  EXPECT_FALSE(called) << "a buffered handler never sees a truncated body";
  EXPECT_FALSE(v.alive());
}

TEST(BodyTimeouts, ABodyThatNeverEndsMeetsTheTotalTimeoutOverASocket) {
  server_options o;
  o.body_idle_timeout = std::chrono::milliseconds(0);  // only the total counts here
  o.body_total_timeout = std::chrono::milliseconds(150);
  o.tick = std::chrono::milliseconds(10);
  running_server s(o, [](server& srv) {
    srv.http_body("/up", [](http_exchange ex, std::string) { ex.respond(http_response()); });
  });
  test_client c(s.port());
  c.send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  // A byte every 20 ms keeps the idle timer happy, never the total one.
  for (int i = 0; i < 100 && status == 0; ++i) {
    c.send("1\r\nx\r\n");
    status = c.read_status(20);
  }
  EXPECT_EQ(status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(c.wait_eof());
}

}  // namespace
}  // namespace duplex
