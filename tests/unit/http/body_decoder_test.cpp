#include "duplex/http/body_decoder.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "body_test_support.hpp"
#include "duplex/http/response.hpp"
#include "support/splits.hpp"

namespace duplex::http {
namespace {

using namespace test_support;

// What follows every body here: the next pipelined request, which no body may eat into.
const std::string next_request = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

struct good_case {
  const char* name;
  body_framing framing;
  std::string encoded;  // the body as sent, next_request not included
  std::string body;     // as decoded
  std::vector<std::pair<std::string, std::string>> trailers = {};
  std::uint64_t max_body = 1024;
  body_limits limits = {};
};

void PrintTo(const good_case& c, std::ostream* os) {
  *os << c.name;
}

class BodyGood : public ::testing::TestWithParam<good_case> {};

TEST_P(BodyGood, SameBodyAndEndInEverySplit) {
  const auto& c = GetParam();
  for (const auto& parts : test::all_splits(c.encoded + next_request)) {
    SCOPED_TRACE(test::describe(parts));
    body_decoder d(c.limits);
    d.start(c.framing, c.max_body);
    const auto o = decode_in_pieces(d, parts);
    ASSERT_EQ(o.status, body_decoder::status::complete) << o.error.message();
    EXPECT_EQ(o.body, c.body);
    EXPECT_EQ(o.consumed, c.encoded.size());  // up to the next request, not a byte more
    EXPECT_EQ(o.trailers, c.trailers);
  }
}

std::string exactly(std::size_t n, char c) {
  return std::string(n, c);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BodyGood,
    ::testing::Values(
        good_case{"no body", {}, "", ""}, good_case{"zero length", length(0), "", ""},
        good_case{"length", length(5), "hello", "hello"},
        good_case{"length of framing-like bytes", length(7), "0\r\n\r\n\n\r", "0\r\n\r\n\n\r"},
        good_case{"length at the limit", length(10), exactly(10, 'x'), exactly(10, 'x'), {}, 10},
        good_case{"no data", chunked(), "0\r\n\r\n", ""},
        good_case{"one chunk", chunked(), "5\r\nhello\r\n0\r\n\r\n", "hello"},
        good_case{"hex sizes in either case", chunked(),
                  "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", "0123456789abcdefghijk"},
        good_case{"data that looks like framing", chunked(), "7\r\n0\r\n\r\n\n\r\r\n0\r\n\r\n",
                  "0\r\n\r\n\n\r"},
        good_case{"leading zeros", chunked(), "0005\r\nhello\r\n000\r\n\r\n", "hello"},
        good_case{"16 digits", chunked(), "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"},
        good_case{"extension names", chunked(), "5;a;b-c\r\nhello\r\n0;last\r\n\r\n", "hello"},
        good_case{"extension values", chunked(),
                  "5;a=1;b=\"x ; \\\" y\";c=\"\"\r\nhello\r\n0\r\n\r\n", "hello"},
        // RFC 9112 section 7.1.1: BWS around ';' and '='.
        good_case{"extension whitespace", chunked(), "5 ;\ta = b ; c\r\nhello\r\n0\r\n\r\n",
                  "hello"},
        good_case{"extensions at the limit",
                  chunked(),
                  "5;abcdefghij\r\nhello\r\n0\r\n\r\n",
                  "hello",
                  {},
                  1024,
                  {.max_chunk_ext_bytes = 11}},
        good_case{"trailers",
                  chunked(),
                  "3\r\nabc\r\n0\r\nExpires: never\r\nx-sum:  12 ab \t\r\nX-Empty:\r\n\r\n",
                  "abc",
                  {{"Expires", "never"}, {"x-sum", "12 ab"}, {"X-Empty", ""}}},
        good_case{"trailers at the limit",
                  chunked(),
                  "0\r\nA: 12345\r\nB: 1\r\n\r\n",
                  "",
                  {{"A", "12345"}, {"B", "1"}},
                  1024,
                  {.max_trailer_bytes = 16}},
        good_case{"no trailers allowed, none sent",
                  chunked(),
                  "1\r\nz\r\n0\r\n\r\n",
                  "z",
                  {},
                  1024,
                  {.max_trailer_bytes = 0}},
        good_case{"chunked at the limit",
                  chunked(),
                  "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n",
                  "abcdefghij",
                  {},
                  10},
        good_case{"zero limit", chunked(), "0\r\n\r\n", "", {}, 0}),
    [](const auto& param_info) {
      std::string n = param_info.param.name;
      for (auto& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

struct bad_case {
  const char* name;
  body_framing framing;
  std::string encoded;
  errc error;
  int status;
  std::uint64_t max_body = 1024;
  body_limits limits = {};
};

void PrintTo(const bad_case& c, std::ostream* os) {
  *os << c.name;
}

class BodyBad : public ::testing::TestWithParam<bad_case> {};

TEST_P(BodyBad, RefusedWithTheDocumentedStatusInEverySplit) {
  const auto& c = GetParam();
  for (const auto& parts : test::all_splits(c.encoded + next_request)) {
    SCOPED_TRACE(test::describe(parts));
    body_decoder d(c.limits);
    d.start(c.framing, c.max_body);
    const auto o = decode_in_pieces(d, parts);
    ASSERT_EQ(o.status, body_decoder::status::error);
    EXPECT_EQ(o.error, make_error_code(c.error)) << o.error.message();
    EXPECT_LE(o.body.size(), c.max_body);
    // Once refused, nothing more is read.
    EXPECT_EQ(d.decode("5\r\nhello\r\n").consumed, 0u);
  }
  EXPECT_EQ(status_for(c.error), c.status);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BodyBad,
    ::testing::Values(
        // RFC 9110 section 15.5.14: past the limit is 413, decided before reading the data.
        bad_case{"length above the limit", length(11), exactly(11, 'x'), errc::body_too_large, 413,
                 10},
        bad_case{"chunk above the limit", chunked(), "b\r\n" + exactly(11, 'x') + "\r\n0\r\n\r\n",
                 errc::body_too_large, 413, 10},
        bad_case{"chunks above the limit", chunked(), "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n",
                 errc::body_too_large, 413, 10},
        bad_case{"any chunk above a zero limit", chunked(), "1\r\nz\r\n0\r\n\r\n",
                 errc::body_too_large, 413, 0},
        bad_case{"17 digits", chunked(), "00000000000000005\r\nhello\r\n0\r\n\r\n",
                 errc::chunk_size_overflow, 400, std::numeric_limits<std::uint64_t>::max()},
        bad_case{"2^64", chunked(), "10000000000000000\r\n", errc::chunk_size_overflow, 400,
                 std::numeric_limits<std::uint64_t>::max()},
        bad_case{"no size", chunked(), "\r\nhello\r\n0\r\n\r\n", errc::bad_chunk_size, 400},
        bad_case{"size not hex", chunked(), "g\r\n", errc::bad_chunk_size, 400},
        bad_case{"negative size", chunked(), "-5\r\nhello\r\n", errc::bad_chunk_size, 400},
        bad_case{"space before the size", chunked(), " 5\r\nhello\r\n", errc::bad_chunk_size, 400},
        bad_case{"0x prefix", chunked(), "0x5\r\nhello\r\n", errc::bad_chunk_extension, 400},
        bad_case{"space after the size", chunked(), "5 \r\nhello\r\n0\r\n\r\n",
                 errc::bad_chunk_extension, 400},
        bad_case{"space after an extension", chunked(), "5;a \r\nhello\r\n",
                 errc::bad_chunk_extension, 400},
        bad_case{"empty extension", chunked(), "5;\r\nhello\r\n", errc::bad_chunk_extension, 400},
        bad_case{"extension without a name", chunked(), "5;=v\r\nhello\r\n",
                 errc::bad_chunk_extension, 400},
        bad_case{"extension without a value", chunked(), "5;a=\r\nhello\r\n",
                 errc::bad_chunk_extension, 400},
        bad_case{"two names", chunked(), "5;a b\r\nhello\r\n", errc::bad_chunk_extension, 400},
        bad_case{"two values", chunked(), "5;a=b=c\r\nhello\r\n", errc::bad_chunk_extension, 400},
        bad_case{"unterminated quote", chunked(), "5;a=\"b\r\nhello\r\n", errc::bad_chunk_extension,
                 400},
        bad_case{"control in a quote", chunked(), "5;a=\"\x01\"\r\nhello\r\n",
                 errc::bad_chunk_extension, 400},
        bad_case{"bare LF in a quote", chunked(), "5;a=\"\n\"\r\nhello\r\n", errc::bad_line_ending,
                 400},
        bad_case{"extensions too long",
                 chunked(),
                 "5;abcdefghijk\r\nhello\r\n0\r\n\r\n",
                 errc::chunk_extension_too_long,
                 413,
                 1024,
                 {.max_chunk_ext_bytes = 11}},
        bad_case{"bare LF after the size", chunked(), "5\nhello\r\n0\r\n\r\n",
                 errc::bad_line_ending, 400},
        bad_case{"bare CR after the size", chunked(), "5\rhello\r\n0\r\n\r\n",
                 errc::bad_line_ending, 400},
        bad_case{"bare LF after an extension", chunked(), "5;a=b\nhello\r\n", errc::bad_line_ending,
                 400},
        bad_case{"bare LF after the data", chunked(), "5\r\nhello\n0\r\n\r\n",
                 errc::bad_line_ending, 400},
        bad_case{"bare CR after the data", chunked(), "5\r\nhello\r0\r\n\r\n",
                 errc::bad_line_ending, 400},
        bad_case{"data longer than its size", chunked(), "5\r\nhello!\r\n0\r\n\r\n",
                 errc::bad_chunk_end, 400},
        bad_case{"bare LF after the last chunk", chunked(), "0\n\r\n", errc::bad_line_ending, 400},
        bad_case{"bare LF ending the trailers", chunked(), "0\r\n\n", errc::bad_line_ending, 400},
        bad_case{"bare LF after a trailer", chunked(), "0\r\nA: b\n\r\n", errc::bad_line_ending,
                 400},
        bad_case{"bare CR in a trailer", chunked(), "0\r\nA: b\rc\r\n\r\n", errc::bad_line_ending,
                 400},
        // Trailers are field lines: the head's rules, the head's errors.
        bad_case{"trailer folded", chunked(), "0\r\nA: b\r\n c\r\n\r\n",
                 errc::obsolete_line_folding, 400},
        bad_case{"trailer name with a space", chunked(), "0\r\nA b: c\r\n\r\n",
                 errc::bad_header_name, 400},
        bad_case{"trailer without a colon", chunked(), "0\r\nAb\r\n\r\n", errc::bad_header_name,
                 400},
        bad_case{"NUL in a trailer", chunked(), std::string("0\r\nA: \0\r\n\r\n", 11),
                 errc::bad_header_value, 400},
        bad_case{"trailers too large",
                 chunked(),
                 "0\r\nA: 123456\r\nB: 1\r\n\r\n",
                 errc::trailer_too_large,
                 431,
                 1024,
                 {.max_trailer_bytes = 16}},
        bad_case{"a trailer when none is allowed",
                 chunked(),
                 "0\r\nA: b\r\n\r\n",
                 errc::trailer_too_large,
                 431,
                 1024,
                 {.max_trailer_bytes = 0}},
        bad_case{"refused framing",
                 {body_kind::invalid, 0, errc::bad_content_length},
                 "",
                 errc::bad_content_length,
                 400}),
    [](const auto& param_info) {
      std::string n = param_info.param.name;
      for (auto& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

// A long trailer line that never ends costs no more memory than the limit.
TEST(BodyDecoder, AnEndlessTrailerLineIsCutAtTheLimit) {
  body_decoder d({.max_trailer_bytes = 100});
  d.start(chunked(), 1024);
  ASSERT_EQ(d.decode("0\r\n").state, body_decoder::status::incomplete);
  const std::string line(64, 'a');
  body_decoder::status st = body_decoder::status::incomplete;
  int reads = 0;
  while (st == body_decoder::status::incomplete && reads < 10) {
    st = d.decode(line).state;
    ++reads;
  }
  EXPECT_EQ(st, body_decoder::status::error);
  EXPECT_EQ(reads, 2);  // 128 bytes pass 100 + the 2 of the blank line
  EXPECT_EQ(d.error(), errc::trailer_too_large);
}

// The limit applies while the size is read: a peer announcing a huge chunk is refused at the
// digit that passes the limit, not after sending it.
TEST(BodyDecoder, AChunkSizePastTheLimitFailsAtThatDigit) {
  body_decoder d;
  d.start(chunked(), 0x100);
  EXPECT_EQ(d.decode("10").state, body_decoder::status::incomplete);
  const auto s = d.decode("00");
  EXPECT_EQ(s.state, body_decoder::status::error);
  EXPECT_EQ(s.consumed, 2u);  // "100" is the limit itself; "1000" is past it
  EXPECT_EQ(d.error(), errc::body_too_large);
}

TEST(BodyDecoder, ALengthPastTheLimitFailsBeforeAnyByte) {
  body_decoder d;
  EXPECT_EQ(d.start(length(1001), 1000), body_decoder::status::error);
  EXPECT_EQ(d.error(), errc::body_too_large);
  EXPECT_EQ(d.decode("x").consumed, 0u);
  EXPECT_EQ(d.start(length(1000), 1000), body_decoder::status::incomplete);
  EXPECT_FALSE(d.error());
}

TEST(BodyDecoder, OnePiecePerCallSoTheCallerCanPause) {
  body_decoder d;
  d.start(chunked(), 1024);
  std::string_view in = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\nGET";
  const auto first = d.decode(in);
  EXPECT_EQ(first.data, "abc");
  EXPECT_EQ(first.consumed, 6u);
  EXPECT_EQ(first.state, body_decoder::status::incomplete);
  in.remove_prefix(first.consumed);
  const auto second = d.decode(in);
  EXPECT_EQ(second.data, "def");
  in.remove_prefix(second.consumed);
  const auto last = d.decode(in);
  EXPECT_EQ(last.data, "");
  EXPECT_EQ(last.state, body_decoder::status::complete);
  EXPECT_EQ(in.substr(last.consumed), "GET");
  EXPECT_EQ(d.received(), 6u);
}

TEST(BodyDecoder, AChunkSizeOf64BitsIsReadWithoutOverflow) {
  body_decoder d;
  d.start(chunked(), std::numeric_limits<std::uint64_t>::max());
  const auto s = d.decode("ffffffffffffffff\r\nabc");
  EXPECT_EQ(s.state, body_decoder::status::incomplete);
  EXPECT_EQ(s.data, "abc");
  EXPECT_EQ(d.received(), 3u);
}

TEST(BodyDecoder, TheEndOfInputInsideABodyIsTruncated) {
  for (const auto& [framing, bytes] :
       {std::pair{length(5), std::string("hel")}, std::pair{chunked(), std::string("5\r\nhello")},
        std::pair{chunked(), std::string("0\r\nA: b\r\n")}}) {
    body_decoder d;
    d.start(framing, 1024);
    const auto s = d.decode(bytes);
    EXPECT_EQ(s.state, body_decoder::status::incomplete);
    EXPECT_EQ(d.finish(), body_decoder::status::error);
    EXPECT_EQ(d.error(), errc::body_truncated);
  }
  body_decoder d;
  d.start(length(2), 1024);
  EXPECT_EQ(d.decode("ok").state, body_decoder::status::complete);
  EXPECT_EQ(d.finish(), body_decoder::status::complete);
}

TEST(BodyDecoder, StartForgetsTheLastBody) {
  body_decoder d;
  d.start(chunked(), 1024);
  ASSERT_EQ(d.decode("0\r\nA: 1\r\n\r\n").state, body_decoder::status::complete);
  ASSERT_EQ(d.trailers().size(), 1u);
  // A copy keeps its own trailers, not views into the original.
  body_decoder copy = d;
  d.start(chunked(), 1024);
  ASSERT_EQ(d.decode("0\r\nBB: 22\r\n\r\n").state, body_decoder::status::complete);
  ASSERT_EQ(copy.trailers().size(), 1u);
  EXPECT_EQ(copy.trailers()[0].name, "A");
  EXPECT_EQ(copy.trailers()[0].value, "1");
  d.start(length(2), 1024);
  EXPECT_TRUE(d.trailers().empty());
  EXPECT_EQ(d.received(), 0u);
  const auto s = d.decode("hi");
  EXPECT_EQ(s.data, "hi");
  EXPECT_EQ(s.state, body_decoder::status::complete);
  // After a refusal too.
  d.start(length(5), 1);
  EXPECT_EQ(d.state(), body_decoder::status::error);
  d.start(length(1), 1);
  EXPECT_EQ(d.decode("x").state, body_decoder::status::complete);
  EXPECT_FALSE(d.error());
}

TEST(BodyDecoder, BeforeStartThereIsNoBodyAndNothingIsRead) {
  body_decoder d;
  const auto s = d.decode("5\r\nhello");
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_EQ(s.state, body_decoder::status::complete);
  EXPECT_FALSE(d.error());
}

TEST(BodyDecoder, StartReadsTheFramingOfAHead) {
  request req;
  req.method = "POST";
  req.headers = {{"Host", "a"}, {"Transfer-Encoding", "chunked"}};
  body_decoder d;
  EXPECT_EQ(d.start(req, 10), body_decoder::status::incomplete);
  EXPECT_EQ(d.kind(), body_kind::chunked);
  req.headers = {{"Host", "a"}, {"Transfer-Encoding", "gzip, chunked"}};
  EXPECT_EQ(d.start(req, 10), body_decoder::status::error);
  EXPECT_EQ(status_for(static_cast<errc>(d.error().value())), 501);
  req.headers = {{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}};
  EXPECT_EQ(d.start(req, 10), body_decoder::status::error);
  EXPECT_EQ(d.error(), errc::length_with_transfer_encoding);  // RFC 9112 section 6.1
  req.headers = {{"Transfer-Encoding", "chunked, gzip"}};
  EXPECT_EQ(d.start(req, 10), body_decoder::status::error);
  EXPECT_EQ(d.error(), errc::bad_transfer_encoding);  // section 6.3 item 4: 400, not 501
  req.headers = {{"Content-Length", "3"}, {"Content-Length", "4"}};
  EXPECT_EQ(d.start(req, 10), body_decoder::status::error);
  EXPECT_EQ(d.error(), errc::bad_content_length);
  req.headers = {{"Content-Length", "3, 3"}};
  EXPECT_EQ(d.start(req, 10), body_decoder::status::incomplete);
  EXPECT_EQ(d.decode("abcd").consumed, 3u);
  req.headers = {{"Content-Length", "11"}};
  EXPECT_EQ(d.start(req, 10), body_decoder::status::error);
  EXPECT_EQ(d.error(), errc::body_too_large);
  req.headers = {};
  EXPECT_EQ(d.start(req, 0), body_decoder::status::complete);
}

// Each refusal has a status the server can write, with its standard reason phrase.
TEST(BodyDecoder, EveryErrorHasAStatusAndAReason) {
  for (int e = static_cast<int>(errc::bad_request_line);
       e <= static_cast<int>(errc::expectation_failed); ++e) {
    const auto code = static_cast<errc>(e);
    SCOPED_TRACE(reason_for(code));
    EXPECT_NE(reason_for(code), "unknown HTTP error");
    EXPECT_NE(reason_phrase(status_for(code)), "");
  }
  EXPECT_EQ(reason_phrase(417), "Expectation Failed");
  EXPECT_EQ(reason_phrase(100), "Continue");
}

}  // namespace
}  // namespace duplex::http
