// Every timer the server owns: handshake, idle ping and close, close handshake, shutdown.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

server_options fast() {
  server_options o;
  o.tick = 20ms;
  o.handshake_timeout = 300ms;
  o.idle_timeout = 300ms;
  o.pong_timeout = 300ms;
  o.close_timeout = 300ms;
  return o;
}

TEST(Timers, SlowHandshakeIsDropped) {
  echo_fixture fx;
  running_server s(fast(), fx.setup());
  test_client c(s.port());
  c.send("GET / HTTP/1.1\r\nHost: a\r\n");  // and never the rest
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.wait_eof(3000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(s.logged("handshake timeout"));
  EXPECT_EQ(fx.opened, 0);
}

// A browser opens spare connections and never uses some: closing one that sent nothing is no
// news for the operator's log, only a request left half-sent is.
TEST(Timers, AConnectionThatSentNothingIsClosedWithoutALogLine) {
  echo_fixture fx;
  running_server s(fast(), fx.setup());
  test_client c(s.port());
  EXPECT_TRUE(c.wait_eof(3000));
  EXPECT_FALSE(s.logged("handshake timeout"));
  EXPECT_EQ(fx.opened, 0);
}

TEST(Timers, IdleSocketIsPingedAndKeptWhenItAnswers) {
  echo_fixture fx;
  running_server s(fast(), fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  for (int round = 0; round < 3; ++round) {
    auto ping = c.read_frame(2000);
    ASSERT_TRUE(ping) << round;
    EXPECT_EQ(ping->opcode(), op_ping);
    c.send(frame(fin | op_pong, ping->payload));
  }
  EXPECT_TRUE(fx.closed().empty());
}

TEST(Timers, SilentSocketIsClosedWith1001) {
  echo_fixture fx;
  running_server s(fast(), fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  auto ping = c.read_frame(2000);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->opcode(), op_ping);
  auto close = c.read_frame(2000);  // no pong: the server gives up
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode(), op_close);
  EXPECT_EQ(close->close_code(), 1001);
  // We never answer the close either: the close timer ends TCP and on_close sees 1006.
  EXPECT_TRUE(c.wait_eof(3000));
  EXPECT_TRUE(eventually([&] { return fx.closed().size() == 1; }));
  EXPECT_EQ(fx.closed()[0].code, 1006);
  EXPECT_TRUE(s.logged("idle timeout"));
}

TEST(Timers, ShutdownClosesEverySocketWith1001AndReturns) {
  echo_fixture fx;
  server_options o = fast();
  o.close_timeout = 2000ms;
  running_server s(o, fx.setup());
  std::vector<std::unique_ptr<test_client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<test_client>(s.port()));
    ASSERT_EQ(clients.back()->upgrade(), 101);
  }
  test_client half_open(s.port());  // still in its handshake
  half_open.send("GET / HTTP/1.1\r\n");
  std::thread answer([&] {
    for (auto& c : clients) {
      auto f = c->read_frame(3000);
      ASSERT_TRUE(f);
      EXPECT_EQ(f->opcode(), op_close);
      EXPECT_EQ(f->close_code(), 1001);
      // As a browser does: answer the close, see the server's FIN, close the socket.
      c->send(frame(fin | op_close, close_payload(f->close_code())));
      EXPECT_TRUE(c->wait_eof(3000));
      c.reset();
    }
  });
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 6; }));
  const auto took = s.stop();
  answer.join();
  EXPECT_LT(took, 1500ms);  // clients answered: no need to wait for the close timer
  EXPECT_EQ(fx.closed().size(), 5u);
  for (auto& c : fx.closed())
    EXPECT_EQ(c.code, 1001);
  EXPECT_TRUE(half_open.wait_eof(1000));
}

// A thread that finishes its work after the server stopped (the chat's history writer) may
// still post to a loop: nothing runs, nothing crashes.
TEST(Timers, PostingAfterRunReturnedIsHarmless) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  s.stop();
  bool ran = false;
  std::thread late([&] { EXPECT_NO_THROW(s.get().post(0, [&] { ran = true; })); });
  late.join();
  EXPECT_FALSE(ran);
  s.get().publish("any", "late");  // and a late publish is dropped the same way
}

TEST(Timers, ShutdownIsBoundedWhenClientsDoNotAnswer) {
  echo_fixture fx;
  running_server s(fast(), fx.setup());
  test_client mute(s.port());
  ASSERT_EQ(mute.upgrade(), 101);
  const auto took = s.stop();
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(fx.closed().size(), 1u);
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

using namespace duplex::test;

// A thread the application started before run() must not swallow the stop signal.
TEST(Signals, SigtermShutsDownGracefullyWhateverThreadsExist) {
  std::atomic<bool> stop_helper{false};
  std::thread helper([&] {
    while (!stop_helper)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  server_options o;
  o.port = 0;
  o.host = "127.0.0.1";
  o.log = [](std::string_view) {};
  server srv(o);
  echo_fixture fx;
  fx.setup()(srv);
  srv.listen();
  std::thread runner([&] { srv.run(); });
  {
    test_client c(srv.port());
    EXPECT_EQ(c.upgrade(), 101);
    ::kill(::getpid(), SIGTERM);
    auto f = c.read_frame(3000);
    EXPECT_TRUE(f && f->close_code() == 1001);
    c.send(frame(fin | op_close, close_payload(1001)));
    EXPECT_TRUE(c.wait_eof(3000));
  }
  runner.join();  // run() returned: the process was not killed
  stop_helper = true;
  helper.join();
  EXPECT_EQ(fx.closed().size(), 1u);
}

}  // namespace
}  // namespace duplex
