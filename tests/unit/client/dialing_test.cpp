// The client's way to a server: names resolved off the loop, every address tried, happy
// eyeballs, and a client that goes away while a lookup is still running.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "client/dialer.hpp"
#include "client/resolver.hpp"
#include "duplex/client/client.hpp"
#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

net::address loopback(int family, std::uint16_t port) {
  return net::address::resolve(family == AF_INET6 ? "::1" : "127.0.0.1", port);
}

// A port where nothing listens on either loopback address (closed again at once).
std::uint16_t dead_port() {
  running_server s({}, [](server&) {});
  return s.port();
}

// A listener whose one-slot backlog is taken: a connect to it is neither accepted nor
// refused, as with a host that drops the packets.
struct black_hole {
  black_hole() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    filler = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ::connect(filler, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~black_hole() {
    ::close(filler);
    ::close(fd);
  }
  int fd, filler;
  std::uint16_t port = 0;
};

// The names a test gives several addresses; any other name fails.
std::vector<net::address> fake_names;
std::atomic<int> lookups_done{0};
std::chrono::milliseconds lookup_delay{0};

detail::resolved fake_lookup(const std::string& host, std::uint16_t) {
  std::this_thread::sleep_for(lookup_delay);
  detail::resolved r;
  if (host == "multi.test") {
    r.addresses = fake_names;
  } else {
    r.error = "cannot resolve " + host + ": unknown in this test";
  }
  ++lookups_done;
  return r;
}

struct fake_dns {
  fake_dns(std::vector<net::address> addrs, std::chrono::milliseconds delay = 0ms) {
    fake_names = std::move(addrs);
    lookup_delay = delay;
    lookups_done = 0;
    detail::resolver::lookup = &fake_lookup;
  }
  ~fake_dns() { detail::resolver::lookup = &detail::resolver::system_lookup; }
};

struct result {
  bool opened = false;
  std::string error;
  std::error_code code;
  std::chrono::milliseconds took{};
};

result open_once(const std::string& url, client_options opts = {}) {
  net::event_loop loop;
  result r;
  const auto start = std::chrono::steady_clock::now();
  client_handlers h;
  h.on_open = [&](client& c) {
    r.opened = true;
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    c.close();
  };
  h.on_close = [&](client&, ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](client&, const client_error& e) {
    r.error = e.message();
    r.code = e.code;
    loop.stop();
  };
  client c(loop, std::move(opts), std::move(h));
  loop.add_timer(5000ms, [&] { loop.stop(); });
  c.connect(url);
  loop.run();
  return r;
}

TEST(Dialer, TriesTheNextAddressWhenOneRefuses) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  const std::uint16_t dead = dead_port();
  net::event_loop loop;
  detail::dialer d(loop, 250ms);
  int fd = -1;
  std::string error = "not called";
  d.start({loopback(AF_INET6, dead), loopback(AF_INET, dead), loopback(AF_INET, s.port())},
          [&](int f, std::string e) {
            fd = f;
            error = std::move(e);
            loop.stop();
          });
  loop.add_timer(3000ms, [&] { loop.stop(); });
  loop.run();
  ASSERT_GE(fd, 0) << error;
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
  EXPECT_EQ(ntohs(peer.sin_port), s.port());
  ::close(fd);
}

TEST(Dialer, ReportsTheLastErrorWhenEveryAddressFails) {
  const std::uint16_t dead = dead_port();
  net::event_loop loop;
  detail::dialer d(loop, 250ms);
  int fd = 0;
  std::string error;
  d.start({loopback(AF_INET6, dead), loopback(AF_INET, dead)}, [&](int f, std::string e) {
    fd = f;
    error = std::move(e);
    loop.stop();
  });
  loop.add_timer(3000ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(fd, -1);
  EXPECT_NE(error.find("127.0.0.1:" + std::to_string(dead)), std::string::npos) << error;
}

TEST(Resolver, PutsIpv6FirstAndAlternatesTheFamilies) {
  const auto out = detail::interleave_families(
      {loopback(AF_INET, 1), loopback(AF_INET, 2), loopback(AF_INET6, 3), loopback(AF_INET6, 4)});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].to_string(), "[::1]:3");
  EXPECT_EQ(out[1].to_string(), "127.0.0.1:1");
  EXPECT_EQ(out[2].to_string(), "[::1]:4");
  EXPECT_EQ(out[3].to_string(), "127.0.0.1:2");
}

TEST(ClientDialing, ANameWithSeveralAddressesOpensOnTheOneThatListens) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  const std::uint16_t dead = dead_port();
  fake_dns dns({loopback(AF_INET6, dead), loopback(AF_INET, dead), loopback(AF_INET, s.port())});
  const auto r = open_once("ws://multi.test:" + std::to_string(s.port()) + "/");
  EXPECT_TRUE(r.opened) << r.error;
  EXPECT_EQ(lookups_done, 1);
}

TEST(ClientDialing, AnAddressThatNeverAnswersIsRacedAfterTheAttemptDelay) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  black_hole hole;
  fake_dns dns({loopback(AF_INET, hole.port), loopback(AF_INET, s.port())});
  client_options o;
  o.attempt_delay = 150ms;
  o.open_timeout = 3000ms;
  const auto r = open_once("ws://multi.test:1/", o);
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_GE(r.took, 140ms);
  EXPECT_LT(r.took, 2000ms);
}

TEST(ClientDialing, AFailedLookupIsAClearError) {
  fake_dns dns({});
  const auto r = open_once("ws://nowhere.test/");
  EXPECT_FALSE(r.opened);
  EXPECT_EQ(r.code, client_errc::resolve_failed);
  EXPECT_NE(r.error.find("nowhere.test"), std::string::npos) << r.error;
}

TEST(ClientDialing, TheSystemResolverAnswersLocalhostAndRefusesAnInvalidName) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  EXPECT_TRUE(open_once("ws://localhost:" + std::to_string(s.port()) + "/").opened);
  const auto r = open_once("ws://no-such-host.invalid/");
  EXPECT_EQ(r.code, client_errc::resolve_failed) << r.error;
  EXPECT_NE(r.error.find("no-such-host.invalid"), std::string::npos) << r.error;
}

TEST(ClientDialing, AClientDestroyedDuringTheLookupIsNeverCalledBack) {
  fake_dns dns({loopback(AF_INET, dead_port())}, 200ms);
  int calls = 0;
  net::event_loop loop;
  {
    client_handlers h;
    h.on_open = [&](client&) { ++calls; };
    h.on_error = [&](client&, const client_error&) { ++calls; };
    client c(loop, {}, std::move(h));
    c.connect("ws://multi.test/");
  }
  // The lookup ends on its worker after the client is gone; its answer must go nowhere.
  loop.add_timer(400ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(lookups_done, 1);
  EXPECT_EQ(calls, 0);
}

TEST(ClientDialing, ALookupThatOutlivesItsLoopDoesNotTouchIt) {
  fake_dns dns({loopback(AF_INET, dead_port())}, 150ms);
  {
    net::event_loop loop;
    client c(loop, {}, {});
    c.connect("ws://multi.test/");
  }
  for (int i = 0; i < 100 && lookups_done == 0; ++i)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(20ms);  // the worker's last steps after the lookup
  EXPECT_EQ(lookups_done, 1);
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

TEST(ClientDialing, CloseBeforeTheOpenStopsTheAttemptQuietly) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  fake_dns dns({loopback(AF_INET, s.port())}, 100ms);
  net::event_loop loop;
  int calls = 0;
  client_handlers h;
  h.on_open = [&](client&) { ++calls; };
  h.on_error = [&](client&, const client_error&) { ++calls; };
  client c(loop, {}, std::move(h));
  c.connect("ws://multi.test/");
  loop.add_timer(20ms, [&] { c.close(); });
  loop.add_timer(400ms, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(lookups_done, 1);
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(c.is_open());
  EXPECT_EQ(fx.opened.load(), 0);
}

}  // namespace
}  // namespace duplex
