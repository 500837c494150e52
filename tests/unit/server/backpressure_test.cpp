// A peer that does not read: sends report buffering, the queue is bounded by the policy, and
// on_drain tells when it is worth sending again.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

struct flood_state {
  std::mutex mutex;
  std::vector<send_result> results;
  std::atomic<int> drains{0};
  std::atomic<int> close_code{0};
};

std::function<void(server&)> flood_setup(flood_state& st) {
  return [&st](server& s) {
    ws_behavior b;
    b.on_message = [&st](websocket& ws, std::string_view data, ws::opcode) {
      const int n = std::stoi(std::string(data));
      const std::string chunk(64 * 1024, 'f');
      std::lock_guard lock(st.mutex);
      for (int i = 0; i < n; ++i)
        st.results.push_back(ws.send(chunk, ws::opcode::binary));
    };
    b.on_drain = [&st](websocket&) { ++st.drains; };
    b.on_close = [&st](websocket&, ws::close_code code_typed, std::string_view) {
      const std::uint16_t code = duplex::ws::to_int(code_typed);
      st.close_code = code;
    };
    s.ws("/", std::move(b));
  };
}

int count(flood_state& st, send_status s) {
  std::lock_guard lock(st.mutex);
  int n = 0;
  for (auto& r : st.results)
    n += r.status == s;
  return n;
}

TEST(Backpressure, DropPolicyBoundsTheQueueAndReportsEachSend) {
  flood_state st;
  server_options o;
  o.max_backpressure = 1 << 20;
  o.policy = backpressure_policy::drop;
  running_server s(o, flood_setup(st));
  test_client c(s.port());
  c.set_receive_buffer(16 * 1024);
  ASSERT_EQ(c.upgrade(), 101);
  c.send_text("200");  // 12.5 MiB to a reader that does not read
  ASSERT_TRUE(eventually([&] {
    std::lock_guard l(st.mutex);
    return st.results.size() == 200;
  }));
  EXPECT_GT(count(st, send_status::buffered), 0);
  EXPECT_GT(count(st, send_status::dropped), 0);
  {
    std::lock_guard lock(st.mutex);
    std::size_t max_buffered = 0;
    for (auto& r : st.results)
      max_buffered = std::max(max_buffered, r.buffered_amount);
    EXPECT_LE(max_buffered, (1u << 20) + 64 * 1024 + 16);
  }
  // Reading everything drains the queue, and on_drain says so.
  int frames = 0;
  while (c.read_frame(500))
    ++frames;
  EXPECT_EQ(frames, 200 - count(st, send_status::dropped));
  EXPECT_TRUE(eventually([&] { return st.drains > 0; }));
  EXPECT_EQ(st.close_code, 0);
}

TEST(Backpressure, ClosePolicyEndsTheSocketWith1008) {
  flood_state st;
  server_options o;
  o.max_backpressure = 1 << 20;
  o.policy = backpressure_policy::close;
  running_server s(o, flood_setup(st));
  test_client c(s.port());
  c.set_receive_buffer(16 * 1024);
  ASSERT_EQ(c.upgrade(), 101);
  c.send_text("200");
  EXPECT_TRUE(eventually([&] { return st.close_code == 1008; }));
  EXPECT_GT(count(st, send_status::closed), 0);  // sends after the limit report "closed"
  EXPECT_TRUE(s.logged("send queue full"));
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 0; }));
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

using namespace duplex::test;

// The overflow happens while another party publishes, not in the socket's own callback: its
// on_close (1008) must still run.
TEST(Backpressure, SubscriberOverflowingFromPublishGetsOnClose) {
  std::atomic<int> code{0};
  server_options o;
  o.max_backpressure = 256 * 1024;
  running_server s(o, [&](server& srv) {
    ws_behavior b;
    b.on_open = [](websocket& ws) { ws.subscribe("t"); };
    b.on_close = [&](websocket&, ws::close_code c_typed, std::string_view) {
      const std::uint16_t c = duplex::ws::to_int(c_typed);
      code = c;
    };
    srv.ws("/", std::move(b));
  });
  test_client c(s.port());
  c.set_receive_buffer(8 * 1024);
  ASSERT_EQ(c.upgrade(), 101);
  ASSERT_TRUE(eventually([&] { return s.get().connection_count() == 1; }));
  const std::string chunk(32 * 1024, 'p');
  for (int i = 0; i < 400 && code == 0; ++i) {
    s.get().publish("t", chunk, ws::opcode::binary);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(eventually([&] { return code == 1008; }));
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 0; }));
}

// Reads one whole answer (head and Content-Length body) from `fd`; empty after 60 s without
// it (the sanitizer builds write a large answer slowly; a cut one ends at once, on the EOF).
std::string read_answer(int fd, std::string& pending) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto end = pending.find("\r\n\r\n"); end != std::string::npos) {
      const auto at = pending.find("Content-Length: ");
      const std::size_t length = at == std::string::npos ? 0 : std::stoul(pending.substr(at + 16));
      if (pending.size() >= end + 4 + length) {
        std::string answer = pending.substr(0, end + 4 + length);
        pending.erase(0, answer.size());
        return answer;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[16384];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  return {};
}

// One answer over the limit with nothing more asked (a file): it goes out whole to a client
// that reads it late and slowly, and the connection then serves the next request.
TEST(Backpressure, OneHttpAnswerOverTheLimitGoesOutWholeToASlowReader) {
  server_options o;
  o.max_backpressure = 64 * 1024;
  // Past what the kernel takes at once (tcp_wmem's most is 4 MiB here): most of it is queued.
  const std::string file(6 << 20, 'f');
  running_server s(o, [&file](server& srv) {
    srv.http("/file", [&file](const http::request&, http_response& res) { res.body(file); });
  });
  test_client c(s.port());
  c.set_receive_buffer(256 * 1024);
  std::string pending;
  for (int round = 0; round < 2; ++round) {
    c.send("GET /file HTTP/1.1\r\nHost: a\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the answer waits, unread
    const std::string answer = read_answer(c.fd(), pending);
    ASSERT_FALSE(answer.empty()) << "round " << round << ": " << pending.size() << " bytes";
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200");
    EXPECT_EQ(answer.size() - (answer.find("\r\n\r\n") + 4), file.size());
  }
  EXPECT_FALSE(s.logged("unread HTTP responses over the limit"));
}

TEST(Backpressure, PipelinedHttpRequestsThatAreNeverReadAreCut) {
  server_options o;
  o.max_backpressure = 64 * 1024;
  running_server s(o, [](server& srv) {
    srv.http("/big",
             [](const http::request&, http_response& res) { res.body(std::string(4096, 'b')); });
  });
  test_client c(s.port());
  c.set_receive_buffer(4 * 1024);
  std::string burst;
  for (int i = 0; i < 2000; ++i)
    burst += "GET /big HTTP/1.1\r\nHost: a\r\n\r\n";
  std::thread writer([&] { c.send(burst); });
  EXPECT_TRUE(eventually([&] { return s.logged("unread HTTP responses over the limit"); }, 5000));
  ::shutdown(c.fd(), SHUT_RDWR);
  writer.join();
  // The server is fine for everyone else.
  test_client d(s.port());
  d.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(d.read_status(), 200);
}

TEST(Backpressure, BytesAfterARefusedRequestAreDropped) {
  running_server s({}, [](server&) {});
  test_client c(s.port());
  c.send("BAD\r\n\r\n");
  std::thread writer([&] {
    const std::string junk(1 << 20, 'j');
    for (int i = 0; i < 16; ++i)
      c.send(junk);
  });
  EXPECT_EQ(c.read_status(), 400);
  EXPECT_TRUE(c.wait_eof(5000));
  ::shutdown(c.fd(), SHUT_RDWR);
  writer.join();
}

}  // namespace
}  // namespace duplex
