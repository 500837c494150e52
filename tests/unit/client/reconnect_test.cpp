// Automatic reconnection: backoff with jitter, a bound, the hook to resume, and the endings
// that must not bring the client back.
#include <gtest/gtest.h>

#include <atomic>

#include "duplex/client/client.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

struct trace {
  std::vector<unsigned> reconnects_at_open;
  std::vector<std::pair<unsigned, std::chrono::milliseconds>> retries;
  std::vector<int> closes;
  std::vector<client_errc> errors;
};

// Runs a client until it has been quiet (no retry pending) for a while, or `limit` passed.
trace run(const std::string& url, client_options o, std::function<void(client&)> on_open = {},
          std::chrono::milliseconds limit = 4000ms) {
  net::event_loop loop;
  trace t;
  net::timer_id quiet = 0;
  const auto settle = [&] {
    if (quiet) loop.cancel_timer(quiet);
    quiet = loop.add_timer(300ms, [&] { loop.stop(); });
  };
  client_handlers h;
  h.on_open = [&](client& c) {
    t.reconnects_at_open.push_back(c.reconnects());
    if (quiet) loop.cancel_timer(std::exchange(quiet, 0));
    if (on_open) on_open(c);
  };
  h.on_close = [&](client&, ws::close_code code, std::string_view) {
    t.closes.push_back(ws::to_int(code));
    settle();
  };
  h.on_error = [&](client&, const client_error& e) {
    t.errors.push_back(static_cast<client_errc>(e.code.value()));
    settle();
  };
  h.on_retry = [&](client&, unsigned attempt, std::chrono::milliseconds delay) {
    t.retries.emplace_back(attempt, delay);
    if (quiet) loop.cancel_timer(std::exchange(quiet, 0));
  };
  client c(loop, std::move(o), std::move(h));
  loop.add_timer(limit, [&] { loop.stop(); });
  c.connect(url);
  loop.run();
  return t;
}

std::string url(std::uint16_t port) {
  return "ws://127.0.0.1:" + std::to_string(port) + "/";
}

client_options fast() {
  client_options o;
  o.reconnect.enabled = true;
  o.reconnect.initial = 40ms;
  o.reconnect.max = 100ms;
  o.reconnect.factor = 2.0;
  o.reconnect.jitter = 0.5;
  o.close_timeout = 300ms;
  return o;
}

// A server whose first `drops` sockets are cut (1006 for the client), then closes with `code`.
std::function<void(server&)> dropping(int drops, ws::close_code code, std::atomic<int>& opens) {
  return [=, &opens](server& s) {
    ws_behavior b;
    b.on_open = [=, &opens](websocket& ws) {
      if (++opens <= drops) return ws.terminate();
      ws.close(code, "bye");
    };
    s.ws("/", std::move(b));
  };
}

TEST(ClientReconnect, ComesBackAfterDropsWithGrowingJitteredWaits) {
  std::atomic<int> opens{0};
  running_server s({}, dropping(3, ws::close_code::normal, opens));
  const auto t = run(url(s.port()), fast());
  ASSERT_EQ(t.reconnects_at_open, (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(t.closes, (std::vector<int>{1006, 1006, 1006, 1000}));  // 1000: no retry after it
  ASSERT_EQ(t.retries.size(), 3u);
  // Connections this short do not reset the count: the waits grow (40, 80, then the max 100),
  // each jittered down by up to half.
  const std::vector<std::chrono::milliseconds> top = {40ms, 80ms, 100ms};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(t.retries[i].first, i + 1);
    EXPECT_GE(t.retries[i].second, top[i] / 2);
    EXPECT_LE(t.retries[i].second, top[i]);
  }
}

TEST(ClientReconnect, WaitsGrowByTheFactorUpToTheMaxAndStopAtTheBound) {
  std::uint16_t dead;
  {
    running_server s({}, [](server&) {});
    dead = s.port();
  }
  client_options o = fast();
  o.reconnect.max_attempts = 4;
  o.reconnect.jitter = 0;
  const auto t = run(url(dead), o);
  EXPECT_EQ(t.errors.size(), 5u);  // the first try and four retries
  ASSERT_EQ(t.retries.size(), 4u);
  const std::vector<std::chrono::milliseconds> want = {40ms, 80ms, 100ms, 100ms};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t.retries[i].first, i + 1);
    EXPECT_EQ(t.retries[i].second, want[i]);
  }
}

TEST(ClientReconnect, APolicyCloseOrADeliberateCloseEndsIt) {
  for (auto code : {ws::close_code::policy_violation, ws::close_code::protocol_error,
                    ws::application_code(1)}) {
    std::atomic<int> opens{0};
    running_server s({}, dropping(0, code, opens));
    const auto t = run(url(s.port()), fast());
    EXPECT_EQ(t.reconnects_at_open.size(), 1u) << ws::to_int(code);
    EXPECT_TRUE(t.retries.empty()) << ws::to_int(code);
  }
  echo_fixture fx;
  running_server s({}, fx.setup());
  const auto t = run(url(s.port()), fast(), [](client& c) { c.close(); });
  EXPECT_EQ(t.closes, std::vector<int>{1000});
  EXPECT_TRUE(t.retries.empty());
  const auto u = run(url(s.port()), fast(), [](client& c) { c.terminate(); });
  EXPECT_EQ(u.closes, std::vector<int>{1006});
  EXPECT_TRUE(u.retries.empty());
}

TEST(ClientReconnect, ServiceRestartComesBackAndAPredicateCanSayOtherwise) {
  std::atomic<int> opens{0};
  running_server s({}, dropping(0, ws::close_code::service_restart, opens));
  client_options o = fast();
  o.reconnect.max_attempts = 2;
  auto t = run(url(s.port()), o, [](client&) {});
  // Bounded even though each try opens: the connections never stay open for `stable`.
  EXPECT_EQ(t.reconnects_at_open, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_EQ(t.retries.size(), 2u);
  o.reconnect.stable = 0ms;  // now every open starts the count again: more than 2 retries
  t = run(url(s.port()), o, {}, 1500ms);
  EXPECT_GT(t.retries.size(), 3u);
  o.reconnect.stable = 10'000ms;
  o.reconnect.after_close = [](ws::close_code) { return false; };
  t = run(url(s.port()), o);
  EXPECT_EQ(t.reconnects_at_open.size(), 1u);
  EXPECT_TRUE(t.retries.empty());
}

TEST(ClientReconnect, A5xxRefusalIsRetriedAnd4xxIsNot) {
  for (int status : {503, 403}) {
    std::atomic<int> upgrades{0};
    running_server s({}, [&](server& srv) {
      ws_behavior b;
      b.on_upgrade = [&, status](upgrade_context&) { return ++upgrades <= 2 ? status : 0; };
      srv.ws("/", std::move(b));
    });
    const auto t = run(url(s.port()), fast(), [](client& c) { c.close(); });
    if (status == 503) {
      EXPECT_EQ(t.errors.size(), 2u);
      EXPECT_EQ(t.reconnects_at_open, std::vector<unsigned>{0});
    } else {
      EXPECT_EQ(t.errors, std::vector<client_errc>{client_errc::refused});
      EXPECT_TRUE(t.reconnects_at_open.empty());
      EXPECT_TRUE(t.retries.empty());
    }
  }
}

TEST(ClientReconnect, CloseDuringTheWaitCancelsTheRetry) {
  std::uint16_t dead;
  {
    running_server s({}, [](server&) {});
    dead = s.port();
  }
  net::event_loop loop;
  int errors = 0;
  client_handlers h;
  h.on_error = [&](client&, const client_error&) { ++errors; };
  h.on_retry = [&](client& c, unsigned, std::chrono::milliseconds) { c.close(); };
  client c(loop, fast(), std::move(h));
  c.connect(url(dead));
  loop.add_timer(500ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(errors, 1);
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

TEST(ClientReconnect, ConnectFromOnCloseOpensAgainByHand) {
  std::atomic<int> opens{0};
  running_server s({}, dropping(1, ws::close_code::normal, opens));
  net::event_loop loop;
  std::vector<int> closes;
  int opened = 0;
  client_handlers h;
  h.on_open = [&](client&) { ++opened; };
  h.on_close = [&](client& c, ws::close_code code, std::string_view) {
    closes.push_back(ws::to_int(code));
    if (closes.size() == 1) {
      c.connect(url(s.port()));  // no automatic reconnection: the application's own
    } else {
      loop.add_timer(0ms, [&] { loop.stop(); });
    }
  };
  client c(loop, {}, std::move(h));
  loop.add_timer(3000ms, [&] { loop.stop(); });
  c.connect(url(s.port()));
  loop.run();
  EXPECT_EQ(opened, 2);
  EXPECT_EQ(closes, (std::vector<int>{1006, 1000}));
}

}  // namespace
}  // namespace duplex
