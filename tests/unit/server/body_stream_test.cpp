// Streaming request bodies (server::http_stream): pieces in every split, and pause()/resume()
// as backpressure that reaches the client through TCP.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <optional>
#include <thread>

#include "support/body_wire.hpp"
#include "support/echo_fixture.hpp"
#include "support/splits.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

TEST(StreamBody, PiecesAddUpToTheBodyInEverySplit) {
  const std::string input =
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz";
  for (const auto& p : all_splits(input)) {
    body_wire w;
    std::string got;
    int heads = 0;
    http_stream_behavior b;
    b.on_head = [&](http_exchange&) { ++heads; };
    b.on_data = [&](http_exchange&, std::string_view piece) {
      EXPECT_FALSE(piece.empty());
      got += piece;
    };
    b.on_end = [&](http_exchange& ex) {
      got += "|";
      ex.respond(http_response().body("ok"));
    };
    w.streaming("/up", std::move(b));
    w.connect();
    for (const auto& piece : p)
      w.send(piece);
    EXPECT_EQ(got, "abcdefg|xyz|") << describe(p);
    EXPECT_EQ(heads, 2);
    EXPECT_EQ(w.responses().size(), 2u) << describe(p);
  }
}

TEST(StreamBody, APausedExchangeStopsReadingAndResumesFromATask) {
  body_wire w;
  std::optional<http_exchange> held;
  std::size_t received = 0;
  bool in_resume = false;
  http_stream_behavior b;
  b.body.max_bytes = 8 << 20;
  b.on_data = [&](http_exchange& ex, std::string_view piece) {
    EXPECT_FALSE(in_resume) << "never delivered from inside resume()";
    received += piece.size();
    ex.pause();
    held = ex;
  };
  b.on_end = [&](http_exchange& ex) { ex.respond(http_response().body("done")); };
  w.streaming("/up", std::move(b));
  w.connect();
  const std::size_t total = 4 << 20;
  w.wire.feed("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(total) +
              "\r\n\r\n" + std::string(total, 'b'));
  w.step();
  ASSERT_TRUE(held.has_value());
  const std::size_t first = received;
  EXPECT_GT(first, 0u);
  w.expire_all();  // paused time is not the client's: no 408
  w.step(5);
  EXPECT_EQ(received, first) << "nothing is delivered while paused";
  EXPECT_GE(w.wire.unread(), total - (512 << 10)) << "the rest stays with the client";
  EXPECT_TRUE(w.responses().empty());
  int resumes = 0;
  while (received < total && resumes < 1000) {
    in_resume = true;
    held->resume();
    in_resume = false;
    ++resumes;
    w.step();
  }
  EXPECT_EQ(received, total);
  EXPECT_TRUE(w.responses().empty()) << "paused on the last piece: on_end waits as well";
  held->resume();
  w.step();
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "done");
}

TEST(StreamBody, APausedExchangeAnsweredEarlyDropsTheRestAndGoesOn) {
  body_wire w;
  std::optional<http_exchange> held;
  std::string got;
  http_stream_behavior b;
  b.on_data = [&](http_exchange& ex, std::string_view piece) {
    got += piece;
    ex.pause();
    held = ex;
  };
  b.on_end = [&](http_exchange& ex) { ex.respond(http_response().body("end")); };
  w.streaming("/up", std::move(b));
  w.connect();
  w.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc");
  ASSERT_TRUE(held.has_value());
  held->respond(http_response().status(507).body("full"));  // paused, and never resumed
  w.send("defPOST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz");
  const auto r = w.responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 507);
  EXPECT_EQ(got, "abcz") << "the rest of the first body is dropped; the next request is read";
  held->resume();
  w.step();
  const auto r2 = w.responses();
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].body, "end");
}

// A client that resets the connection while its upload is paused: the stream hears an abort,
// and the connection goes (the reset is not left to wake the loop forever).
TEST(StreamBodySockets, AResetWhilePausedAbortsTheExchange) {
  std::atomic<int> aborts{0};
  std::atomic<bool> reset_seen{false};
  running_server s({}, [&](server& srv) {
    http_stream_behavior b;
    b.on_data = [](http_exchange& ex, std::string_view) { ex.pause(); };
    b.on_abort = [&](http_exchange&, std::error_code why) {
      ++aborts;
      reset_seen = why == std::errc::connection_aborted;
    };
    srv.http_stream("/upload", std::move(b));
  });
  {
    test_client c(s.port());
    c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc");
    ASSERT_TRUE(eventually([&] { return s.get().connection_count() == 1; }));
    std::this_thread::sleep_for(50ms);
    c.send("more bytes that the paused server leaves unread");
    const linger hard{1, 0};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }  // closed with a reset
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 0; }, 2000));
  EXPECT_EQ(aborts, 1);
  EXPECT_TRUE(reset_seen);
}

// Over a socket: a paused upload fills the kernel's buffers and the client's send blocks; the
// server holds no more than a read's worth; resume() lets the whole body through.
TEST(StreamBodySockets, PauseReachesTheClientAsTcpBackpressure) {
  std::atomic<std::size_t> received{0};
  std::atomic<bool> paused{false};
  std::atomic<bool> done{false};
  std::optional<http_exchange> held;  // loop thread only
  server* srv_ptr = nullptr;
  running_server s({}, [&](server& srv) {
    srv_ptr = &srv;
    http_stream_behavior b;
    b.body.max_bytes = 64 << 20;
    b.on_data = [&](http_exchange& ex, std::string_view piece) {
      received += piece.size();
      if (!paused) {
        paused = true;
        ex.pause();
        held = ex;
      }
    };
    b.on_end = [&](http_exchange& ex) {
      done = true;
      ex.respond(http_response().body("stored"));
    };
    srv.http_stream("/upload", std::move(b));
  });
  test_client c(s.port());
  const std::size_t total = 32 << 20;
  c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(total) +
         "\r\n\r\n");
  const int flags = ::fcntl(c.fd(), F_GETFL);
  ::fcntl(c.fd(), F_SETFL, flags | O_NONBLOCK);
  const std::string block(64 << 10, 'u');
  std::size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  int stalls = 0;
  // Send until the kernel refuses for a while: the paused server does not read.
  while (sent < total && std::chrono::steady_clock::now() < deadline && stalls < 20) {
    const auto n = ::send(c.fd(), block.data(), std::min(block.size(), total - sent), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      stalls = 0;
    } else {
      ++stalls;
      std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_LT(sent, total) << "the client's send blocked";
  EXPECT_TRUE(paused);
  const std::size_t while_paused = received;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(received, while_paused);
  EXPECT_LE(received, std::size_t(512 << 10)) << "one read's worth at most";
  // Resume from the loop's thread, and keep resuming (on_data pauses only once).
  srv_ptr->post(0, [&] { held->resume(); });
  while (sent < total && std::chrono::steady_clock::now() < deadline + 10s) {
    const auto n = ::send(c.fd(), block.data(), std::min(block.size(), total - sent), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else {
      pollfd p{c.fd(), POLLOUT, 0};
      ::poll(&p, 1, 100);
    }
  }
  ::fcntl(c.fd(), F_SETFL, flags);
  EXPECT_EQ(sent, total);
  EXPECT_EQ(c.read_status(5000), 200);
  EXPECT_TRUE(done);
  EXPECT_EQ(received, total);
}

}  // namespace
}  // namespace duplex
