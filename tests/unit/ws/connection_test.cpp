#include "duplex/ws/connection.hpp"

#include <gtest/gtest.h>

#include "support/ws_run.hpp"

namespace duplex::ws {
namespace {

using namespace duplex::test;

// Runs `input` whole, at every split and byte by byte and checks each result.
template <class Check>
void in_every_split(const std::string& input, Check check, limits l = {}) {
  for (const auto& parts : all_splits(input)) {
    SCOPED_TRACE(describe(parts));
    check(run(parts, l));
  }
}

TEST(Connection, TextMessageInEverySplit) {
  in_every_split(frame(fin | op_text, "Hello"), [](const run_result& r) {
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].type, event_type::message);
    EXPECT_EQ(r.events[0].op, opcode::text);
    EXPECT_EQ(r.events[0].data, "Hello");
    EXPECT_EQ(r.state, state::open);
    EXPECT_TRUE(r.sent.empty());
  });
}

TEST(Connection, EveryLengthForm) {
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 100000u}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
      payload[i] = static_cast<char>(i * 31);
    const auto r = run({frame(fin | op_binary, payload)});
    ASSERT_EQ(r.events.size(), 1u) << n;
    EXPECT_EQ(r.events[0].op, opcode::binary);
    EXPECT_EQ(r.events[0].data, payload) << n;
  }
}

TEST(Connection, SeveralMessagesInOneRead) {
  const std::string input =
      frame(fin | op_text, "a") + frame(fin | op_binary, "bc") + frame(fin | op_text, "");
  in_every_split(input, [](const run_result& r) {
    ASSERT_EQ(r.events.size(), 3u);
    EXPECT_EQ(r.events[0].data, "a");
    EXPECT_EQ(r.events[1].data, "bc");
    EXPECT_EQ(r.events[2].data, "");
  });
}

TEST(Connection, FragmentedMessageWithPingInTheMiddle) {
  const std::string input = frame(op_text, "Hel") + frame(fin | op_ping, "p!") +
                            frame(op_cont, "") + frame(fin | op_cont, "lo");
  in_every_split(input, [](const run_result& r) {
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.events[0].type, event_type::ping);
    EXPECT_EQ(r.events[0].data, "p!");
    EXPECT_EQ(r.events[1].type, event_type::message);
    EXPECT_EQ(r.events[1].data, "Hello");
    // RFC 6455 section 5.5.2: the pong echoes the ping's payload.
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0].opcode(), op_pong);
    EXPECT_EQ(r.sent[0].payload, "p!");
  });
}

TEST(Connection, Utf8SplitAcrossFragmentsIsValid) {
  const std::string input = frame(op_text, "\xE2\x82") + frame(fin | op_cont, "\xAC");
  in_every_split(input, [](const run_result& r) {
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].data, "\xE2\x82\xAC");
  });
}

// What a message split across reads needed (the gathered payload, a split header, a split
// control frame) is held out of line only while it is split: back at a frame boundary, the
// connection holds nothing but its own fields.
TEST(Connection, HoldsNothingOutOfLineOnceSplitInputIsWhole) {
  const std::string input = frame(op_text, "Hel") + frame(fin | op_ping, "p!") +
                            frame(fin | op_cont, "lo") + frame(fin | op_binary, "whole");
  for (const auto& parts : all_splits(input)) {
    SCOPED_TRACE(describe(parts));
    connection c(role::server);
    run_result res;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      pump(c, parts[i], res);
      if (i + 1 < parts.size()) continue;
      EXPECT_FALSE(c.holds_partial());
      EXPECT_EQ(c.buffered_message_bytes(), 0u);
    }
    ASSERT_EQ(res.events.size(), 3u);
    EXPECT_EQ(res.events[1].data, "Hello");
    EXPECT_EQ(res.events[2].data, "whole");
  }
  // A whole frame in one read never allocates it.
  connection c(role::server);
  run_result res;
  pump(c, frame(fin | op_text, "Hello"), res);
  EXPECT_FALSE(c.holds_partial());
}

// The output buffer can be lent (a server batches many sockets' replies in one), and the
// connection's own is freed on request, so that an idle one holds none.
TEST(Connection, LentOutputAndFreedOwnBuffer) {
  connection c(role::server);
  EXPECT_TRUE(c.pending_output().empty());
  std::string batch;
  c.lend_output(&batch);
  ASSERT_TRUE(c.send_text("a"));
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_EQ(c.pending_output().size(), 3u);
  batch.clear();
  c.lend_output(nullptr);
  EXPECT_TRUE(c.pending_output().empty());
  ASSERT_TRUE(c.send_text("b"));
  EXPECT_EQ(c.pending_output().size(), 3u);
  EXPECT_TRUE(batch.empty()) << "taken back: output goes to the connection's own buffer";
  c.clear_output(0);
  EXPECT_TRUE(c.pending_output().empty());
  ASSERT_TRUE(c.send_text("c"));  // a buffer again when needed
  EXPECT_EQ(c.pending_output().size(), 3u);
}

TEST(Connection, PongIsReported) {
  const auto r = run({frame(fin | op_pong, "x")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, event_type::pong);
  EXPECT_TRUE(r.sent.empty());
}

struct failure {
  const char* name;
  std::string input;
  errc error;
  std::uint16_t code;
};

class ConnectionFailure : public ::testing::TestWithParam<failure> {};

// Each rejected condition fails the connection with its own error and close code, sends one
// close frame with that code, and ignores whatever follows it.
TEST_P(ConnectionFailure, FailsWithItsCloseCodeInEverySplit) {
  const auto& c = GetParam();
  const std::string input = c.input + frame(fin | op_text, "after the failure");
  limits l;
  l.max_message_bytes = 1000;
  l.max_fragments = 4;
  in_every_split(
      input,
      [&](const run_result& r) {
        ASSERT_FALSE(r.events.empty());
        const auto& last = r.events.back();
        EXPECT_EQ(last.type, event_type::close);
        EXPECT_EQ(last.error, make_error_code(c.error)) << last.error.message();
        EXPECT_EQ(last.code, c.code);
        EXPECT_EQ(close_code_for(c.error), c.code);
        for (const auto& e : r.events)
          EXPECT_NE(e.data, "after the failure");
        ASSERT_EQ(r.sent.size(), 1u);
        EXPECT_EQ(r.sent[0].opcode(), op_close);
        EXPECT_EQ(r.sent[0].close_code(), c.code);
        EXPECT_EQ(r.state, state::closed);
      },
      l);
}

std::string big_header_127(std::uint64_t n) {
  std::string s = "\x82\xFF";
  for (int i = 7; i >= 0; --i)
    s += static_cast<char>((n >> (8 * i)) & 0xFF);
  return s + "abcd";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConnectionFailure,
    ::testing::Values(
        failure{"rsv1", frame(fin | 0x40 | op_text, "x"), errc::reserved_bits, 1002},
        failure{"rsv2", frame(fin | 0x20 | op_text, "x"), errc::reserved_bits, 1002},
        failure{"rsv3", frame(fin | 0x10 | op_binary, "x"), errc::reserved_bits, 1002},
        failure{"opcode3", frame(fin | 0x3, "x"), errc::reserved_opcode, 1002},
        failure{"opcode7", frame(fin | 0x7, ""), errc::reserved_opcode, 1002},
        failure{"opcodeB", frame(fin | 0xB, ""), errc::reserved_opcode, 1002},
        failure{"opcodeF", frame(fin | 0xF, "x"), errc::reserved_opcode, 1002},
        failure{"fragmented_ping", frame(op_ping, "x"), errc::fragmented_control_frame, 1002},
        failure{"fragmented_close", frame(op_close, ""), errc::fragmented_control_frame, 1002},
        failure{"ping_126", frame(fin | op_ping, std::string(126, 'x')),
                errc::control_frame_too_long, 1002},
        failure{"len16_small", frame(fin | op_binary, "short", true, 126), errc::non_minimal_length,
                1002},
        failure{"len64_small", frame(fin | op_binary, std::string(200, 'y'), true, 127),
                errc::non_minimal_length, 1002},
        failure{"len64_top_bit", big_header_127(1ull << 63), errc::length_top_bit_set, 1002},
        failure{"unmasked", frame(fin | op_text, "x", false), errc::unmasked_client_frame, 1002},
        failure{"lone_continuation", frame(fin | op_cont, "x"), errc::unexpected_continuation,
                1002},
        failure{"text_inside_text", frame(op_text, "a") + frame(fin | op_text, "b"),
                errc::expected_continuation, 1002},
        failure{"binary_inside_text", frame(op_text, "a") + frame(op_binary, "b"),
                errc::expected_continuation, 1002},
        failure{"bad_utf8", frame(fin | op_text, "\xC0\xAF"), errc::invalid_utf8, 1007},
        failure{"truncated_utf8", frame(fin | op_text, "ok\xE2\x82"), errc::invalid_utf8, 1007},
        failure{"bad_utf8_second_fragment",
                frame(op_text, "fine") + frame(op_cont, "\xED\xA0\x80") + frame(fin | op_cont, "x"),
                errc::invalid_utf8, 1007},
        failure{"too_big", frame(fin | op_binary, std::string(1001, 'z')), errc::message_too_big,
                1009},
        failure{
            "too_big_fragmented",
            frame(op_binary, std::string(600, 'z')) + frame(fin | op_cont, std::string(401, 'z')),
            errc::message_too_big, 1009},
        failure{"too_big_declared", big_header_127(1ull << 40), errc::message_too_big, 1009},
        failure{"too_many_fragments",
                frame(op_text, "a") + frame(op_cont, "b") + frame(op_cont, "c") +
                    frame(op_cont, "d") + frame(fin | op_cont, "e"),
                errc::too_many_fragments, 1008}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Connection, InvalidUtf8FailsInTheFrameWhereItOccurs) {
  // The message is not finished (no FIN yet): the failure must not wait for the end.
  const auto r = run({frame(op_text, "good") + frame(op_cont, "\xFF")});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1007);
}

TEST(Connection, InvalidUtf8FailsBeforeTheFrameEnds) {
  // Only the first part of a frame has arrived; its bad byte is already enough.
  const std::string f = frame(fin | op_text, std::string("ab\xFF") + std::string(100, 'c'));
  const auto r = run({f.substr(0, 10)});
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].code, 1007);
}

TEST(Connection, MessageOfExactlyTheLimitPasses) {
  limits l;
  l.max_message_bytes = 1000;
  auto r = run(
      {frame(op_binary, std::string(600, 'a')) + frame(fin | op_cont, std::string(400, 'b'))}, l);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].data.size(), 1000u);
}

TEST(Connection, ExactlyTheFragmentLimitPasses) {
  limits l;
  l.max_fragments = 3;
  auto r = run({frame(op_text, "a") + frame(op_cont, "b") + frame(fin | op_cont, "c")}, l);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].data, "abc");
}

TEST(Connection, StreamedFragmentsArriveAsPieces) {
  limits l;
  l.stream_fragments = true;
  const std::string input =
      frame(op_binary, "ab") + frame(op_cont, "cd") + frame(fin | op_cont, "e");
  in_every_split(
      input,
      [](const run_result& r) {
        std::string joined;
        ASSERT_FALSE(r.events.empty());
        for (std::size_t i = 0; i < r.events.size(); ++i) {
          EXPECT_EQ(r.events[i].type, event_type::fragment);
          EXPECT_EQ(r.events[i].op, opcode::binary);
          EXPECT_EQ(r.events[i].last, i + 1 == r.events.size());
          joined += r.events[i].data;
        }
        EXPECT_EQ(joined, "abcde");
      },
      l);
}

TEST(Connection, SendingFramesTheServerSide) {
  connection c(role::server);
  EXPECT_TRUE(c.send_text("hi"));
  EXPECT_TRUE(c.send_binary(std::string(300, 'b')));
  EXPECT_TRUE(c.send_fragment(opcode::text, "a", false));
  // RFC 6455 section 5.4: a whole message sent now waits for the fragmented one to end.
  EXPECT_TRUE(c.send_text("held while a fragmented message is open"));
  EXPECT_GT(c.held_bytes(), 0u);
  EXPECT_FALSE(c.frame_insertable());
  EXPECT_TRUE(c.ping("p"));  // control frames may interleave
  EXPECT_TRUE(c.send_fragment(opcode::continuation, "b", true));
  EXPECT_EQ(c.held_bytes(), 0u);
  EXPECT_TRUE(c.frame_insertable());
  std::string out(c.pending_output());
  parsed_frame f;
  std::vector<parsed_frame> frames;
  while (take_frame(out, f))
    frames.push_back(f);
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].first, fin | op_text);
  EXPECT_EQ(frames[0].payload, "hi");
  EXPECT_EQ(frames[1].payload.size(), 300u);
  EXPECT_EQ(frames[2].first, op_text);
  EXPECT_EQ(frames[3].first, fin | op_ping);
  EXPECT_EQ(frames[4].first, fin | op_cont);
  EXPECT_EQ(frames[5].first, fin | op_text);
  EXPECT_EQ(frames[5].payload, "held while a fragmented message is open");
  EXPECT_TRUE(out.empty());
}

TEST(Connection, AFrameBuiltElsewhereNeverLandsInsideAFragmentedMessage) {
  connection c(role::server);
  const std::string shared = "\x81\x05hello";  // a whole text frame, framed once for many
  EXPECT_TRUE(c.insert_frame(shared));
  EXPECT_TRUE(c.send_fragment(opcode::binary, "1", false));
  EXPECT_TRUE(c.insert_frame(shared));
  EXPECT_TRUE(c.send_fragment(opcode::continuation, "2", false));
  char header[max_header_size];
  EXPECT_EQ(c.frame_header(header, opcode::binary, 100000), 0u);  // no writev around it
  EXPECT_TRUE(c.send_fragment(opcode::continuation, "3", true));
  std::string out(c.pending_output());
  parsed_frame f;
  std::vector<std::uint8_t> firsts;
  while (take_frame(out, f))
    firsts.push_back(f.first);
  EXPECT_EQ(firsts, (std::vector<std::uint8_t>{fin | op_text, op_binary, op_cont, fin | op_cont,
                                               fin | op_text}));
}

TEST(Connection, AFragmentedMessageHoldsNoMoreThanItsLimit) {
  limits l;
  l.max_message_bytes = 100'000;
  connection c(role::server, l);
  std::string wire = frame(op_binary, std::string(1, 'a'));
  for (int i = 0; i < 9; ++i)
    wire += frame(op_cont, std::string(11'000, 'b'));
  wire += frame(fin | op_cont, std::string(999, 'c'));  // exactly the limit in all
  c.receive(wire);
  auto ev = c.next_event();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->data.size(), 100'000u);
  EXPECT_LE(c.buffered_message_bytes(), 100'000u + 64);  // doubling alone reaches ~176,000
}

TEST(Connection, HeldMessagesAreDroppedByAClose) {
  connection c(role::server);
  EXPECT_TRUE(c.send_fragment(opcode::text, "a", false));
  EXPECT_TRUE(c.send_text("held"));
  EXPECT_TRUE(c.close(1000));
  EXPECT_EQ(c.held_bytes(), 0u);
  EXPECT_FALSE(c.insert_frame("\x81\x00"));
}

TEST(Connection, ClientFramesAreMaskedAndTheServerReadsThem) {
  connection client(role::client);
  connection server(role::server);
  ASSERT_TRUE(client.send_text("from the client"));
  ASSERT_TRUE(client.send_binary(std::string(70000, 'x')));
  std::string wire(client.pending_output());
  EXPECT_NE(static_cast<unsigned char>(wire[1]) & 0x80, 0);  // mask bit set
  EXPECT_EQ(wire.find("from the client"), std::string::npos);
  server.receive(wire);
  auto a = server.next_event();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->data, "from the client");
  auto b = server.next_event();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->data.size(), 70000u);
}

TEST(Connection, ClientRefusesMaskedServerFrames) {
  const auto r = run({frame(fin | op_text, "x", true)}, {}, role::client);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].error, make_error_code(errc::masked_server_frame));
  EXPECT_EQ(r.events[0].code, 1002);
}

TEST(Connection, ClientReadsUnmaskedServerFrames) {
  const auto r = run({frame(fin | op_text, "hello", false)}, {}, role::client);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].data, "hello");
}

TEST(Connection, FrameHeaderForWritev) {
  connection c(role::server);
  char h[max_header_size];
  EXPECT_EQ(c.frame_header(h, opcode::binary, 70000), 10u);
  EXPECT_EQ(c.frame_header(h, opcode::ping, 1), 0u);
  connection client(role::client);
  EXPECT_EQ(client.frame_header(h, opcode::binary, 1), 0u);  // clients must mask: no writev
}

// A large message leaves its buffer to the thread's spare, and the next one grows into it
// instead of through every doubling (fresh pages cost most of a 1 MiB echo); a connection
// whose limit is smaller than the spare does not take it.
TEST(Connection, ALargeMessagesBufferIsKeptForTheNextOne) {
  const std::string big(1 << 20, 'x');
  const std::string wire = frame(fin | op_binary, big);
  auto receive_in_pieces = [&](connection& c) {
    std::size_t size = 0;
    for (std::size_t at = 0; at < wire.size(); at += 16 * 1024) {
      std::string piece = wire.substr(at, 16 * 1024);
      c.receive(piece);
      while (auto ev = c.next_event())
        size += ev->data.size();
    }
    c.next_event();  // gives the delivered message's buffer up
    return size;
  };
  connection first(role::server);
  ASSERT_EQ(receive_in_pieces(first), big.size());
  const std::size_t spare = connection::spare_bytes();
  EXPECT_GE(spare, big.size());
  limits small;
  small.max_message_bytes = spare - 1;
  connection refuses(role::server, small);
  std::string half = frame(fin | op_binary, std::string(900 * 1024, 'y')).substr(0, 200 * 1024);
  refuses.receive(half);
  while (refuses.next_event()) {
  }
  EXPECT_EQ(connection::spare_bytes(), spare) << "its limit is below the spare's size";
  connection second(role::server);
  std::string part = wire.substr(0, 200 * 1024);
  second.receive(part);
  while (second.next_event()) {
  }
  EXPECT_LT(connection::spare_bytes(), 64u * 1024) << "the message in progress grew into the spare";
  EXPECT_GE(second.buffered_message_bytes(), spare);
}

}  // namespace
}  // namespace duplex::ws
