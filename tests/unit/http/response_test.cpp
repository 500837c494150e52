#include "duplex/http/response.hpp"

#include "duplex/http/request.hpp"

#include <gtest/gtest.h>

namespace duplex::http {
namespace {

TEST(Response, WritesStatusHeadersAndBody) {
  std::string out;
  response_writer w(out, 404);
  EXPECT_TRUE(w.header("Content-Type", "text/plain"));
  w.content_length(3);
  w.finish("abc");
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc");
}

TEST(Response, ReasonPhrasesForCommonRefusalsAndNoneMadeUp) {
  EXPECT_EQ(reason_phrase(401), "Unauthorized");
  EXPECT_EQ(reason_phrase(421), "Misdirected Request");
  EXPECT_EQ(reason_phrase(502), "Bad Gateway");
  EXPECT_EQ(reason_phrase(299), "");  // RFC 9112 section 4: empty, not "Unknown"
  std::string out;
  response_writer w(out, 299);
  w.content_length(0);
  w.finish("");
  EXPECT_EQ(out.rfind("HTTP/1.1 299 \r\n", 0), 0u) << out;
}

TEST(Response, RefusesHeaderInjection) {
  std::string out;
  response_writer w(out, 200);
  const auto before = out;
  EXPECT_FALSE(w.header("X", "a\r\nSet-Cookie: evil"));
  EXPECT_FALSE(w.header("X", "a\nb"));
  EXPECT_FALSE(w.header("Bad Name", "v"));
  EXPECT_FALSE(w.header("", "v"));
  EXPECT_EQ(out, before);
}

}  // namespace
}  // namespace duplex::http

namespace duplex::http {
namespace {

request head(std::string_view method, int minor, std::vector<header> headers) {
  request r;
  r.method = method;
  r.target = "/";
  r.version_minor = minor;
  r.headers = std::move(headers);
  return r;
}

TEST(RequestRules, WhatMayBeAnsweredWithoutABody) {
  EXPECT_EQ(check_without_body(head("GET", 1, {{"Host", "a"}})).status, 0);
  EXPECT_EQ(check_without_body(head("GET", 0, {})).status, 0);  // HTTP/1.0 has no Host rule
  EXPECT_EQ(check_without_body(head("GET", 1, {})).status, 400);
  EXPECT_EQ(check_without_body(head("GET", 1, {{"Host", "a"}, {"Host", "b"}})).status, 400);
  EXPECT_EQ(
      check_without_body(head("POST", 1, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}})).status,
      501);
  EXPECT_EQ(check_without_body(head("POST", 1, {{"Host", "a"}, {"Content-Length", "3"}})).status,
            413);
  EXPECT_EQ(check_without_body(head("POST", 1, {{"Host", "a"}, {"Content-Length", "0"}})).status,
            0);
}

// RFC 9110 section 8.6: Content-Length = 1*DIGIT, so leading zeros are still a number.
TEST(RequestRules, ContentLengthWithLeadingZerosIsANumber) {
  for (const char* zero : {"00", "000", "0000000000000000000000000000000"}) {
    SCOPED_TRACE(zero);
    const auto req = head("POST", 1, {{"Host", "a"}, {"Content-Length", zero}});
    EXPECT_EQ(check_without_body(req).status, 0);
    EXPECT_EQ(request_body(req).kind, body_kind::length);
    EXPECT_TRUE(request_body(req).empty());
  }
  const auto five = request_body(head("POST", 1, {{"Content-Length", "005"}}));
  EXPECT_EQ(five.kind, body_kind::length);
  EXPECT_EQ(five.length, 5u);
  EXPECT_EQ(request_body(head("POST", 1, {{"Content-Length", "18446744073709551615"}})).length,
            UINT64_MAX);
}

TEST(RequestRules, ContentLengthThatIsNotDigitsIsRefusedWith400) {
  for (const char* bad : {"", "+0", "-0", "+5", "-1", "5a", "0x5", "5.0", "1e3",
                          "18446744073709551616", "99999999999999999999999"}) {
    SCOPED_TRACE(std::string("'") + bad + "'");
    const auto req = head("POST", 1, {{"Host", "a"}, {"Content-Length", bad}});
    EXPECT_EQ(request_body(req).kind, body_kind::invalid);
    EXPECT_EQ(request_body(req).error, errc::bad_content_length);
    EXPECT_EQ(check_without_body(req).status, 400);
  }
}

// RFC 9112 section 6.3 item 5: lengths that differ, whether in separate fields or in one list,
// leave the end of the body unknown; equal ones are taken as one value.
TEST(RequestRules, DifferingContentLengthsAreRefusedWith400) {
  const std::vector<std::vector<header>> differing = {
      {{"Content-Length", "5"}, {"Content-Length", "6"}},
      {{"Content-Length", "0"}, {"Content-Length", "5"}},
      {{"Content-Length", "5, 6"}},
      {{"Content-Length", "0,5"}},
      {{"Content-Length", "5, 5"}, {"Content-Length", "6"}},
      {{"Content-Length", "5"}, {"Content-Length", "x"}},
      {{"Content-Length", "5,"}},
      {{"Content-Length", ",5"}},
      {{"Content-Length", "5,,5"}},
      {{"Content-Length", "5 5"}},
  };
  for (const auto& fields : differing) {
    auto headers = fields;
    headers.push_back({"Host", "a"});
    SCOPED_TRACE(::testing::PrintToString(fields.size()) + " fields, first '" +
                 std::string(fields[0].value) + "'");
    const auto req = head("POST", 1, headers);
    EXPECT_EQ(request_body(req).kind, body_kind::invalid);
    EXPECT_EQ(request_body(req).error, errc::bad_content_length);
    EXPECT_EQ(check_without_body(req).status, 400);
  }
}

TEST(RequestRules, EqualContentLengthsAreOneValue) {
  // The list rule (RFC 9110 section 5.6.1) allows whitespace around each element.
  const auto list = request_body(head("POST", 1, {{"Content-Length", "5, 5,005\t, 5 "}}));
  EXPECT_EQ(list.kind, body_kind::length);
  EXPECT_EQ(list.length, 5u);
  const auto fields =
      request_body(head("POST", 1, {{"Content-Length", "0"}, {"content-length", "00"}}));
  EXPECT_EQ(fields.kind, body_kind::length);
  EXPECT_TRUE(fields.empty());
  EXPECT_EQ(check_without_body(head("GET", 1, {{"Host", "a"}, {"Content-Length", "0, 0"}})).status,
            0);
}

// RFC 9112 sections 6.1 and 6.3 item 4: every way Transfer-Encoding can leave the body's end in
// doubt is a 400; only a well-formed chunked body gets the 501 for "we do not read bodies".
TEST(RequestRules, TransferEncodingFraming) {
  auto status = [](int minor, std::vector<header> headers) {
    headers.push_back({"Host", "a"});
    return check_without_body(head("POST", minor, std::move(headers))).status;
  };
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}), 400);
  EXPECT_EQ(status(1, {{"Content-Length", "0"}, {"Transfer-Encoding", "chunked"}}), 400);
  EXPECT_EQ(status(0, {{"Transfer-Encoding", "chunked"}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "gzip"}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "chunked, gzip"}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "chunked, chunked"}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", ""}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "xchunked"}}), 400);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "chunked"}}), 501);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "Chunked"}}), 501);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "gzip, chunked"}}), 501);
  EXPECT_EQ(status(1, {{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}), 501);
  const auto both =
      request_body(head("POST", 1, {{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}));
  EXPECT_EQ(both.error, errc::length_with_transfer_encoding);
  EXPECT_EQ(request_body(head("POST", 1, {{"Transfer-Encoding", "gzip"}})).error,
            errc::bad_transfer_encoding);
  EXPECT_EQ(request_body(head("POST", 1, {{"Transfer-Encoding", "gzip, chunked"}})).error,
            errc::unsupported_transfer_coding);
  EXPECT_EQ(request_body(head("POST", 1, {{"Transfer-Encoding", "chunked,"}})).kind,
            body_kind::chunked);  // RFC 9110 section 5.6.1: empty list elements do not count
  EXPECT_EQ(request_body(head("POST", 1, {{"Transfer-Encoding", "chunked"}})).kind,
            body_kind::chunked);
}

TEST(RequestTarget, SplitsEachForm) {
  const auto origin = split_target("/a/b?c=d?e");
  EXPECT_EQ(origin.form, target_form::origin);
  EXPECT_EQ(origin.path, "/a/b");
  EXPECT_EQ(origin.query, "c=d?e");
  EXPECT_TRUE(origin.authority.empty());
  const auto absolute = split_target("https://h:1/x");
  EXPECT_EQ(absolute.form, target_form::absolute);
  EXPECT_EQ(absolute.scheme, "https");
  EXPECT_EQ(absolute.authority, "h:1");
  EXPECT_EQ(absolute.path, "/x");
  const auto authority = split_target("example.com:443");
  EXPECT_EQ(authority.form, target_form::authority);
  EXPECT_EQ(authority.authority, "example.com:443");
  EXPECT_EQ(split_target("[::1]:443").form, target_form::authority);
  EXPECT_EQ(split_target("*").form, target_form::asterisk);
  for (const char* bad :
       {"", "a", "**", "example.com", "example.com:", ":443", "h:x", "mailto:a@b",
        "file:///etc/passwd", "http//h/", "http://", "http://@h/", "http://u@h/", "http://h:1:2/",
        "http://[]/", "http://[::1]x/", "http://h%2/", "1http://h/", "javascript://h/"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(split_target(bad).form, target_form::invalid);
  }
}

TEST(RequestTarget, PathOfAnInvalidTargetIsEmpty) {
  request r;
  r.target = "example.com:443";
  EXPECT_EQ(r.path(), "");
  r.target = "http://h";
  EXPECT_EQ(r.path(), "/");
}

TEST(RequestRules, KeepAliveByVersionAndConnection) {
  EXPECT_TRUE(keeps_alive(head("GET", 1, {})));
  EXPECT_FALSE(keeps_alive(head("GET", 1, {{"Connection", "Close"}})));
  EXPECT_FALSE(keeps_alive(head("GET", 0, {})));
  EXPECT_TRUE(keeps_alive(head("GET", 0, {{"Connection", "keep-alive"}})));
}

}  // namespace
}  // namespace duplex::http
