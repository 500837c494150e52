// Protocol failures over real sockets: the exact close code, then TCP closes, others unaffected.
#include <gtest/gtest.h>

#include "support/echo_fixture.hpp"

namespace duplex {
namespace {

using namespace duplex::test;

struct bad_frame {
  const char* name;
  std::string bytes;
  std::uint16_t code;
};

class ProtocolOverTheWire : public ::testing::TestWithParam<bad_frame> {};

TEST_P(ProtocolOverTheWire, ClosesWithTheCodeAndServesOthers) {
  echo_fixture fx;
  server_options o;
  o.ws_limits.max_message_bytes = 1 << 20;
  running_server s(o, fx.setup());
  test_client bystander(s.port());
  ASSERT_EQ(bystander.upgrade(), 101);

  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  c.send(GetParam().bytes + frame(fin | op_text, "must not be echoed"));
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode(), op_close);
  EXPECT_EQ(f->close_code(), GetParam().code);
  EXPECT_FALSE(c.read_frame(300)) << "nothing may follow the close frame";
  EXPECT_TRUE(c.wait_eof());
  EXPECT_TRUE(eventually([&] { return fx.closed().size() == 1; }));
  EXPECT_EQ(fx.closed()[0].code, GetParam().code);

  bystander.send_text("ok?");
  auto echo = bystander.read_frame();
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->payload, "ok?");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProtocolOverTheWire,
    ::testing::Values(
        bad_frame{"unmasked", frame(fin | op_text, "x", false), 1002},
        bad_frame{"rsv", frame(fin | 0x40 | op_text, "x"), 1002},
        bad_frame{"opcode", frame(fin | 0x5, "x"), 1002},
        bad_frame{"long_ping", frame(fin | op_ping, std::string(126, 'p')), 1002},
        bad_frame{"fragmented_close", frame(op_close, ""), 1002},
        bad_frame{"bad_utf8", frame(fin | op_text, "\xF8\x88\x80\x80\x80"), 1007},
        bad_frame{"bad_close_code", frame(fin | op_close, close_payload(1005)), 1002},
        bad_frame{"bad_close_reason", frame(fin | op_close, close_payload(1000, "\xFF")), 1007},
        bad_frame{"too_big", frame(fin | op_binary, std::string((1 << 20) + 1, 'b')), 1009},
        bad_frame{"stray_continuation", frame(fin | op_cont, "x"), 1002}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Protocol, CleanCloseIsEchoedThenTheServerClosesTcp) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  c.send(frame(fin | op_close, close_payload(4321, "bye")));
  auto f = c.read_frame();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->close_code(), 4321);
  EXPECT_TRUE(c.wait_eof());  // RFC 6455 section 7.1.1: the server closes TCP first
  EXPECT_TRUE(eventually([&] { return fx.closed().size() == 1; }));
  EXPECT_EQ(fx.closed()[0].code, 4321);
  EXPECT_EQ(fx.closed()[0].reason, "bye");
}

TEST(Protocol, AbruptDisconnectReports1006) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  {
    test_client c(s.port());
    ASSERT_EQ(c.upgrade(), 101);
    c.send(frame(op_text, "half a mess"));
  }
  EXPECT_TRUE(eventually([&] { return fx.closed().size() == 1; }));
  EXPECT_EQ(fx.closed()[0].code, 1006);
  EXPECT_TRUE(eventually([&] { return s.get().connection_count() == 0; }));
}

TEST(Protocol, PingIsAnsweredAndManyFramesInOneWriteAllEchoed) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  std::string burst;
  for (int i = 0; i < 100; ++i)
    burst += frame(fin | op_text, "m" + std::to_string(i));
  burst += frame(fin | op_ping, "are you there");
  c.send(burst);
  for (int i = 0; i < 100; ++i) {
    auto f = c.read_frame();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ(f->payload, "m" + std::to_string(i));
  }
  auto pong = c.read_frame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode(), op_pong);
  EXPECT_EQ(pong->payload, "are you there");
}

TEST(Protocol, LargeMessagesRoundTripThroughTheWritevPath) {
  echo_fixture fx;
  running_server s({}, fx.setup());
  test_client c(s.port());
  ASSERT_EQ(c.upgrade(), 101);
  std::string big(3 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 13);
  std::thread writer([&] { c.send(frame(fin | op_binary, big)); });
  auto f = c.read_frame(10000);
  writer.join();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload.size(), big.size());
  EXPECT_TRUE(f->payload == big);
}

}  // namespace
}  // namespace duplex
