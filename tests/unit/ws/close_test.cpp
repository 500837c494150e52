// The close handshake (RFC 6455 sections 5.5.1, 7.1 and 7.4).
#include <gtest/gtest.h>

#include "duplex/ws/close_code.hpp"
#include "duplex/ws/connection.hpp"
#include "support/ws_run.hpp"

namespace duplex::ws {
namespace {

using namespace duplex::test;

TEST(Close, PeerCloseIsAnsweredWithTheSameCodeInEverySplit) {
  const std::string input =
      frame(fin | op_close, close_payload(1000, "bye")) + frame(fin | op_text, "ignored");
  for (const auto& parts : all_splits(input)) {
    const auto r = run(parts);
    ASSERT_EQ(r.events.size(), 1u) << describe(parts);
    EXPECT_EQ(r.events[0].type, event_type::close);
    EXPECT_EQ(r.events[0].code, 1000);
    EXPECT_EQ(r.events[0].data, "bye");
    EXPECT_FALSE(r.events[0].error);
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0].close_code(), 1000);
    EXPECT_EQ(r.state, state::closed);
  }
}

TEST(Close, EmptyCloseReportsNoStatusAndIsAnsweredEmpty) {
  const auto r = run({frame(fin | op_close, "")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, to_int(close_code::no_status));
  ASSERT_EQ(r.sent.size(), 1u);
  EXPECT_TRUE(r.sent[0].payload.empty());
}

TEST(Close, EveryValidCodeIsEchoed) {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                             3000, 3999, 4000, 4999}) {
    const auto r = run({frame(fin | op_close, close_payload(code))});
    ASSERT_EQ(r.events.size(), 1u) << code;
    EXPECT_EQ(r.events[0].code, code);
    EXPECT_FALSE(r.events[0].error) << code;
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0].close_code(), code);
  }
}

TEST(Close, InvalidCodesAreAProtocolError) {
  for (std::uint16_t code :
       {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    const auto r = run({frame(fin | op_close, close_payload(code))});
    ASSERT_EQ(r.events.size(), 1u) << code;
    EXPECT_EQ(r.events[0].error, make_error_code(errc::invalid_close_code)) << code;
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0].close_code(), 1002) << code;
  }
}

TEST(Close, OneBytePayloadIsAProtocolError) {
  const auto r = run({frame(fin | op_close, "\x03")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].error, make_error_code(errc::close_payload_too_short));
  EXPECT_EQ(r.sent[0].close_code(), 1002);
}

TEST(Close, ReasonMustBeUtf8) {
  const auto r = run({frame(fin | op_close, close_payload(1000, "\xCE\xBA\xED\xA0\x80"))});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].error, make_error_code(errc::invalid_close_reason));
  EXPECT_EQ(r.sent[0].close_code(), 1007);
}

TEST(Close, CloseInsideAFragmentedMessageEndsIt) {
  const auto r = run({frame(op_text, "part") + frame(fin | op_close, close_payload(1000))});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, event_type::close);
}

TEST(Close, WeStartTheHandshakeAndThePeerAnswers) {
  connection c(role::server);
  ASSERT_TRUE(c.close(4001, "done"));
  EXPECT_TRUE(c.close_expected());
  EXPECT_FALSE(c.send_text("too late"));
  EXPECT_FALSE(c.close(1000));  // only once
  std::string out(c.pending_output());
  parsed_frame f;
  ASSERT_TRUE(take_frame(out, f));
  EXPECT_EQ(f.close_code(), 4001);
  EXPECT_EQ(f.payload.substr(2), "done");
  c.consume_output(c.pending_output().size());

  // Data still in flight from the peer is delivered while we wait.
  run_result r;
  pump(c, frame(fin | op_text, "late") + frame(fin | op_close, close_payload(4001)), r);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].data, "late");
  EXPECT_EQ(r.events[1].code, 4001);
  EXPECT_TRUE(c.done());
  EXPECT_TRUE(c.pending_output().empty());  // no second close frame
}

TEST(Close, WeRefuseToSendInvalidCloseFrames) {
  connection c(role::server);
  EXPECT_FALSE(c.close(1005, "a reason needs a code"));
  connection d(role::server);
  EXPECT_TRUE(d.close(to_int(close_code::no_status)));
  connection e(role::server);
  EXPECT_FALSE(e.close(1006));
  EXPECT_FALSE(e.close(1000, std::string(124, 'r')));
  EXPECT_FALSE(e.close(1000, "\xFF"));
  EXPECT_TRUE(e.close(1000, std::string(123, 'r')));
}

TEST(Close, EndOfStreamWithoutCloseIs1006) {
  connection c(role::server);
  run_result r;
  pump(c, frame(op_text, "unfinished"), r);
  c.receive_eof();
  auto ev = c.next_event();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, event_type::close);
  EXPECT_EQ(ev->code, to_int(close_code::abnormal));
  EXPECT_EQ(ev->error, make_error_code(errc::connection_lost));
  EXPECT_FALSE(c.next_event());
  EXPECT_TRUE(c.pending_output().empty());  // nothing is sent to a peer that is gone
}

TEST(Close, EndOfStreamAfterTheHandshakeIsQuiet) {
  connection c(role::server);
  run_result r;
  pump(c, frame(fin | op_close, close_payload(1000)), r);
  c.receive_eof();
  EXPECT_FALSE(c.next_event());
}

TEST(Close, AbortReportsTheReasonsCode) {
  connection c(role::server);
  c.abort(errc::send_queue_full);
  auto ev = c.next_event();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->code, 1008);
  EXPECT_TRUE(c.done());
}

TEST(Close, NoPongAfterOurClose) {
  connection c(role::server);
  c.close(1000);
  c.consume_output(c.pending_output().size());
  run_result r;
  pump(c, frame(fin | op_ping, "x"), r);
  EXPECT_TRUE(c.pending_output().empty());
}

TEST(CloseCode, RegisteredNamesAndTheApplicationRange) {
  static_assert(to_int(close_code::normal) == 1000);
  static_assert(to_int(close_code::try_again_later) == 1013);
  static_assert(application_code(0) == static_cast<close_code>(4000));
  static_assert(application_code(999) == static_cast<close_code>(4999));
  static_assert(application_code(5000) == static_cast<close_code>(4999));  // held in the range
  static_assert(is_application(application_code(7)));
  static_assert(application_number(application_code(7)) == 7);
  static_assert(!is_application(close_code::internal_error));
  static_assert(!is_application(static_cast<close_code>(3999)));
  static_assert(!is_application(static_cast<close_code>(5000)));
  EXPECT_TRUE(is_valid_on_wire(close_code::policy_violation));
  EXPECT_TRUE(is_valid_on_wire(application_code(0)));
  EXPECT_FALSE(is_valid_on_wire(close_code::abnormal));
  EXPECT_FALSE(is_valid_on_wire(close_code::no_status));
}

}  // namespace
}  // namespace duplex::ws
