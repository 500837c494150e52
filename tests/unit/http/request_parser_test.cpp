#include "duplex/http/request_parser.hpp"

#include <gtest/gtest.h>

#include "support/splits.hpp"

namespace duplex::http {
namespace {

struct outcome {
  request_parser::status status;
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::error_code error;
  std::size_t head_size = 0;
};

// Feeds the pieces into a growing buffer that is copied to a new place before every call, so
// that a parser keeping pointers instead of offsets would be caught.
outcome parse_in_pieces(const test::pieces& parts, parser_limits limits = {}) {
  request_parser p(limits);
  std::string buf;
  request_parser::status st = request_parser::status::incomplete;
  for (const auto& part : parts) {
    buf += part;
    std::string moved = buf;
    st = p.parse(moved);
    if (st != request_parser::status::incomplete) {
      outcome o{st, {}, {}, {}, p.error(), p.head_size()};
      if (st == request_parser::status::complete) {
        o.method = p.request().method;
        o.target = p.request().target;
        for (auto& h : p.request().headers)
          o.headers.emplace_back(h.name, h.value);
      }
      return o;
    }
  }
  return {st, {}, {}, {}, p.error(), 0};
}

const std::string upgrade_request =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "X-Empty:\r\n"
    "X-Spaces:   padded value \t \r\n"
    "\r\n";

TEST(RequestParser, SameResultInEverySplit) {
  const std::string input = upgrade_request + "\x81\x85trailing frame bytes";
  for (const auto& parts : test::all_splits(input)) {
    const auto o = parse_in_pieces(parts);
    SCOPED_TRACE(test::describe(parts));
    ASSERT_EQ(o.status, request_parser::status::complete);
    EXPECT_EQ(o.method, "GET");
    EXPECT_EQ(o.target, "/chat?room=1");
    ASSERT_EQ(o.headers.size(), 8u);
    EXPECT_EQ(o.headers[0], (std::pair<std::string, std::string>{"Host", "server.example.com"}));
    EXPECT_EQ(o.headers[6].second, "");
    EXPECT_EQ(o.headers[7].second, "padded value");
    EXPECT_EQ(o.head_size, upgrade_request.size());  // bytes after the head are left alone
  }
}

TEST(RequestParser, IncompleteUntilTheBlankLine) {
  request_parser p;
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\n"), request_parser::status::incomplete);
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r"), request_parser::status::incomplete);
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), request_parser::status::complete);
}

TEST(RequestParser, PathAndQueryAndLookup) {
  request_parser p;
  ASSERT_EQ(p.parse("GET /a/b?x=1&y HTTP/1.1\r\nhOsT: h\r\nX: 1\r\nx: 2\r\n\r\n"),
            request_parser::status::complete);
  EXPECT_EQ(p.request().path(), "/a/b");
  EXPECT_EQ(p.request().query(), "x=1&y");
  EXPECT_EQ(p.request().find("HOST"), "h");
  EXPECT_EQ(p.request().count("x"), 2u);
  EXPECT_FALSE(p.request().find("missing"));
  EXPECT_EQ(p.request().version_minor, 1);
}

// RFC 9112 section 3.2.2: a server MUST accept the absolute-form, and its authority wins over
// Host; routing sees the same path as for the origin-form.
TEST(RequestParser, AbsoluteFormInEverySplit) {
  const std::string input =
      "GET http://example.com:8080/chat?room=1 HTTP/1.1\r\nHost: other.example\r\n\r\n";
  for (const auto& parts : test::all_splits(input)) {
    SCOPED_TRACE(test::describe(parts));
    const auto o = parse_in_pieces(parts);
    ASSERT_EQ(o.status, request_parser::status::complete);
    EXPECT_EQ(o.target, "http://example.com:8080/chat?room=1");
  }
  request_parser p;
  ASSERT_EQ(p.parse(input), request_parser::status::complete);
  EXPECT_EQ(p.request().path(), "/chat");
  EXPECT_EQ(p.request().query(), "room=1");
  EXPECT_EQ(p.request().authority(), "example.com:8080");
}

TEST(RequestParser, AbsoluteFormVariants) {
  struct expect {
    const char* target;
    const char* path;
    const char* query;
    const char* authority;
  };
  for (const auto& e :
       {expect{"HTTPS://Example.com", "/", "", "Example.com"},
        expect{"http://h?x=1", "/", "x=1", "h"}, expect{"http://h:/a/b/", "/a/b/", "", "h:"},
        expect{"http://[::1]:9000/p", "/p", "", "[::1]:9000"},
        expect{"http://127.0.0.1/p?", "/p", "", "127.0.0.1"},
        expect{"http://h%41/p", "/p", "", "h%41"}}) {
    SCOPED_TRACE(e.target);
    const std::string input = std::string("GET ") + e.target + " HTTP/1.1\r\nHost: h\r\n\r\n";
    request_parser p;  // its request views `input`, which outlives it
    ASSERT_EQ(p.parse(input), request_parser::status::complete);
    EXPECT_EQ(p.request().path(), e.path);
    EXPECT_EQ(p.request().query(), e.query);
    EXPECT_EQ(p.request().authority(), e.authority);
  }
}

TEST(RequestParser, OriginFormAuthorityIsTheHostHeader) {
  request_parser p;
  ASSERT_EQ(p.parse("GET /a HTTP/1.1\r\nHost: example.com:81\r\n\r\n"),
            request_parser::status::complete);
  EXPECT_EQ(p.request().authority(), "example.com:81");
  EXPECT_EQ(p.request().path(), "/a");
}

// RFC 9112 section 3.2.4: the asterisk-form is OPTIONS's; it has no path to route.
TEST(RequestParser, AsteriskFormForOptions) {
  request_parser p;
  ASSERT_EQ(p.parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), request_parser::status::complete);
  EXPECT_EQ(p.request().target, "*");
  EXPECT_EQ(p.request().path(), "*");
  EXPECT_EQ(p.request().query(), "");
}

TEST(RequestParser, IgnoresEmptyLinesBeforeTheRequestLine) {
  request_parser p;
  EXPECT_EQ(p.parse("\r\n\r\nGET / HTTP/1.0\r\n\r\n"), request_parser::status::complete);
  EXPECT_EQ(p.request().version_minor, 0);
}

struct bad_case {
  const char* name;
  std::string input;
  errc error;
  int status;
};

class RequestParserBad : public ::testing::TestWithParam<bad_case> {};

TEST_P(RequestParserBad, RefusedWithTheDocumentedStatusInEverySplit) {
  const auto& c = GetParam();
  for (const auto& parts : test::all_splits(c.input)) {
    const auto o =
        parse_in_pieces(parts, {.max_head_bytes = 512, .max_target_bytes = 128, .max_headers = 8});
    ASSERT_EQ(o.status, request_parser::status::error) << test::describe(parts);
    EXPECT_EQ(o.error, make_error_code(c.error))
        << test::describe(parts) << ": " << o.error.message();
    EXPECT_EQ(status_for(c.error), c.status);
  }
}

std::string many_headers(int n) {
  std::string s = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < n; ++i)
    s += "X-" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RequestParserBad,
    ::testing::Values(
        bad_case{"no spaces", "GARBAGE\r\n\r\n", errc::bad_request_line, 400},
        bad_case{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", errc::bad_line_ending, 400},
        bad_case{"bare CR in header", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", errc::bad_line_ending,
                 400},
        bad_case{"bad method", "G(T / HTTP/1.1\r\n\r\n", errc::bad_method, 400},
        bad_case{"empty method", " / HTTP/1.1\r\n\r\n", errc::bad_method, 400},
        bad_case{"control in target", "GET /a\x01 HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"non-ascii target", "GET /\xC3\xA9 HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"extra space", "GET  / HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        // RFC 9112 section 3.2: a target is one of four forms, and two are method-specific.
        bad_case{"relative target", "GET a/b HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"authority-form for GET", "GET example.com:80 HTTP/1.1\r\n\r\n", errc::bad_target,
                 400},
        bad_case{"asterisk-form for GET", "GET * HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
                 errc::method_not_implemented, 501},
        bad_case{"ftp scheme", "GET ftp://example.com/ HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"ws scheme", "GET ws://example.com/chat HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"userinfo", "GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n", errc::bad_target,
                 400},
        bad_case{"empty host", "GET http:///a HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"empty host with port", "GET http://:80/a HTTP/1.1\r\n\r\n", errc::bad_target,
                 400},
        bad_case{"no slashes", "GET http:/a HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"port not digits", "GET http://h:8o/ HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"bad percent in host", "GET http://h%zz/ HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"fragment after host", "GET http://h#f HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"unclosed IP literal", "GET http://[::1/ HTTP/1.1\r\n\r\n", errc::bad_target, 400},
        bad_case{"lowercase version", "GET / http/1.1\r\n\r\n", errc::bad_version, 400},
        bad_case{"long version", "GET / HTTP/1.11\r\n\r\n", errc::bad_version, 400},
        bad_case{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", errc::version_not_supported, 505},
        bad_case{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", errc::bad_header_name,
                 400},
        bad_case{"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", errc::bad_header_name, 400},
        bad_case{"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", errc::bad_header_name, 400},
        bad_case{"NUL in value", std::string("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 27),
                 errc::bad_header_value, 400},
        bad_case{"DEL in value", "GET / HTTP/1.1\r\nA: b\x7F\r\n\r\n", errc::bad_header_value, 400},
        bad_case{"obs-fold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", errc::obsolete_line_folding,
                 400},
        bad_case{"target too long", "GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n",
                 errc::target_too_long, 414},
        bad_case{"head too large", "GET / HTTP/1.1\r\nA: " + std::string(600, 'a') + "\r\n\r\n",
                 errc::head_too_large, 431},
        bad_case{"too many headers", many_headers(9), errc::too_many_headers, 431},
        // RFC 9112 section 6.3 item 5: refused by the parser itself, so that the server cannot
        // route the request (or send a 101) on the first value.
        bad_case{"two Content-Length fields",
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                 errc::bad_content_length, 400},
        bad_case{"Content-Length list",
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
                 errc::bad_content_length, 400},
        bad_case{"Content-Length with a sign",
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
                 errc::bad_content_length, 400},
        bad_case{"empty Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
                 errc::bad_content_length, 400},
        bad_case{"upgrade with a zero and a real length",
                 "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 "Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
                 errc::bad_content_length, 400},
        bad_case{"Content-Length and Transfer-Encoding",
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 errc::length_with_transfer_encoding, 400},
        bad_case{"chunked not last",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                 errc::bad_transfer_encoding, 400},
        // Section 6.1: the end is known, but the body would reach the handler gzipped.
        bad_case{"a coding before chunked",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                 errc::unsupported_transfer_coding, 501},
        bad_case{"Transfer-Encoding in HTTP/1.0",
                 "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                 errc::bad_transfer_encoding, 400}),
    [](const auto& param_info) {
      std::string n = param_info.param.name;
      for (auto& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(RequestParser, EqualContentLengthsAndAChunkedBodyPassTheParser) {
  request_parser p;
  ASSERT_EQ(p.parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n"
                    "Content-Length: 05\r\n\r\n"),
            request_parser::status::complete);
  EXPECT_EQ(request_body(p.request()).length, 5u);
  request_parser q;
  // Chunked is well framed; that the server does not read it (501) is not the parser's call.
  ASSERT_EQ(q.parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
            request_parser::status::complete);
  EXPECT_EQ(request_body(q.request()).kind, body_kind::chunked);
}

TEST(RequestParser, ExactlyTheHeaderLimitPasses) {
  const auto o = parse_in_pieces(
      {many_headers(8)}, {.max_head_bytes = 512, .max_target_bytes = 128, .max_headers = 8});
  EXPECT_EQ(o.status, request_parser::status::complete);
}

std::string big_head() {
  std::string s = "GET /" + std::string(3000, 'p') + " HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 20; ++i)
    s += "X-" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  return s + "X-Long: " + std::string(2000, 'l') + "\r\n\r\n";
}

// A head that arrives one byte per read is parsed in time proportional to its size: each call
// resumes the line-end search where the last one stopped, and each line is checked once. A
// parser that rescanned the line (or the buffer) on each call would look at ~n*n/2 bytes.
TEST(RequestParser, OneByteAtATimeScansEachByteOnce) {
  const std::string input = big_head();
  ASSERT_LT(input.size(), 8 * 1024u);
  request_parser p;
  std::string buf;
  request_parser::status st = request_parser::status::incomplete;
  std::size_t calls = 0;
  for (char c : input) {
    buf += c;
    st = p.parse(std::string(buf));  // a new place each time, as after a reallocation
    ++calls;
    if (st != request_parser::status::incomplete) break;
  }
  ASSERT_EQ(st, request_parser::status::complete);
  EXPECT_EQ(calls, input.size());
  EXPECT_EQ(p.head_size(), input.size());
  EXPECT_LE(p.bytes_scanned(), 2 * input.size());
  // The same count as when the head arrives whole.
  request_parser whole;
  ASSERT_EQ(whole.parse(input), request_parser::status::complete);
  EXPECT_EQ(p.bytes_scanned(), whole.bytes_scanned());
}

TEST(RequestParser, ResetParsesTheNextRequest) {
  request_parser p;
  std::string buf = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(p.parse(buf), request_parser::status::complete);
  buf.erase(0, p.head_size());
  p.reset();
  ASSERT_EQ(p.parse(buf), request_parser::status::complete);
  EXPECT_EQ(p.request().target, "/b");
}

// Reads pipelined heads from the pieces in order, as the server does: append a read, then parse
// and consume every complete head in it. Returns the targets seen, or stops at an error.
struct pipeline_result {
  std::vector<std::string> targets;
  request_parser::status last = request_parser::status::incomplete;
  std::size_t scanned = 0, moved = 0, buffered = 0;
};
pipeline_result read_pipelined(const test::pieces& reads, parser_limits limits = {}) {
  request_reader reader(limits);
  pipeline_result out;
  for (const auto& read : reads) {
    reader.append(read);
    while ((out.last = reader.parse()) == request_parser::status::complete) {
      out.targets.emplace_back(reader.request().target);
      reader.consume();
    }
    if (out.last == request_parser::status::error) break;
  }
  out.scanned = reader.bytes_scanned();
  out.moved = reader.bytes_moved();
  out.buffered = reader.buffered();
  return out;
}

std::string numbered_requests(int n) {
  std::string all;
  for (int i = 0; i < n; ++i)
    all += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  return all;
}

TEST(RequestReader, PipelinedHeadsInEverySplit) {
  const std::string input = numbered_requests(3) + "GET /partial HTTP/1.1\r\nHo";
  for (const auto& parts : test::all_splits(input)) {
    SCOPED_TRACE(test::describe(parts));
    const auto r = read_pipelined(parts);
    EXPECT_EQ(r.targets, (std::vector<std::string>{"/r0", "/r1", "/r2"}));
    EXPECT_EQ(r.last, request_parser::status::incomplete);
    EXPECT_EQ(r.buffered, std::string_view("GET /partial HTTP/1.1\r\nHo").size());
  }
}

// 10,000 requests in one read: each byte is looked at a bounded number of times and none is
// moved. Erasing each head from the front of the buffer, as process_http() did, moves about
// 1.6 * 10^9 bytes here (320 KB received).
TEST(RequestReader, TenThousandPipelinedRequestsInOneReadCostLinearWork) {
  const int n = 10000;
  const std::string all = numbered_requests(n);
  const auto r = read_pipelined({all});
  ASSERT_EQ(r.targets.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(r.targets.front(), "/r0");
  EXPECT_EQ(r.targets.back(), "/r9999");
  EXPECT_EQ(r.last, request_parser::status::incomplete);
  EXPECT_EQ(r.buffered, 0u);
  EXPECT_LE(r.scanned, 2 * all.size());
  EXPECT_EQ(r.moved, 0u);
}

// The same requests in reads that cut heads anywhere: only the head in progress at the end of a
// read is moved, once, so the bytes moved stay below the bytes received.
TEST(RequestReader, PipelinedRequestsAcrossReadsCostLinearWork) {
  const int n = 10000;
  const std::string all = numbered_requests(n);
  for (std::size_t read_size : {1000u, 4096u, 7u}) {
    SCOPED_TRACE(read_size);
    test::pieces reads;
    for (std::size_t i = 0; i < all.size(); i += read_size)
      reads.push_back(all.substr(i, read_size));
    const auto r = read_pipelined(reads);
    ASSERT_EQ(r.targets.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(r.targets[1234], "/r1234");
    EXPECT_EQ(r.buffered, 0u);
    EXPECT_LE(r.scanned, 2 * all.size());
    EXPECT_LE(r.moved, all.size());
  }
}

TEST(RequestReader, AfterHeadKeepsTheBytesThatFollowAnUpgrade) {
  request_reader reader;
  reader.append(upgrade_request + "\x81\x85");
  ASSERT_EQ(reader.parse(), request_parser::status::complete);
  EXPECT_EQ(reader.request().target, "/chat?room=1");
  EXPECT_EQ(reader.after_head(), "\x81\x85");
  EXPECT_EQ(reader.head_size(), upgrade_request.size());
}

TEST(RequestReader, ABadHeadAfterGoodOnesIsAnError) {
  const auto r =
      read_pipelined({numbered_requests(2) + "GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n"});
  EXPECT_EQ(r.targets.size(), 2u);
  EXPECT_EQ(r.last, request_parser::status::error);
}

TEST(RequestReader, ConsumeWithoutACompleteHeadDoesNothing) {
  request_reader reader;
  reader.append("GET / HTTP/1.1\r\n");
  ASSERT_EQ(reader.parse(), request_parser::status::incomplete);
  reader.consume();
  EXPECT_EQ(reader.buffered(), std::string_view("GET / HTTP/1.1\r\n").size());
  reader.append("Host: a\r\n\r\n");
  ASSERT_EQ(reader.parse(), request_parser::status::complete);
  EXPECT_EQ(reader.request().find("Host"), "a");
}

}  // namespace
}  // namespace duplex::http
