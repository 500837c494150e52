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
  for (const char* bad : {"", "+0", "-0", "+5", "-1", "5a", "0x5", "5 ", " 5", "5.0", "1e3",
                          "18446744073709551616", "99999999999999999999999"}) {
    SCOPED_TRACE(std::string("'") + bad + "'");
    const auto req = head("POST", 1, {{"Host", "a"}, {"Content-Length", bad}});
    EXPECT_EQ(request_body(req).kind, body_kind::invalid);
    EXPECT_EQ(request_body(req).error, errc::bad_content_length);
    EXPECT_EQ(check_without_body(req).status, 400);
  }
}

TEST(RequestRules, KeepAliveByVersionAndConnection) {
  EXPECT_TRUE(keeps_alive(head("GET", 1, {})));
  EXPECT_FALSE(keeps_alive(head("GET", 1, {{"Connection", "Close"}})));
  EXPECT_FALSE(keeps_alive(head("GET", 0, {})));
  EXPECT_TRUE(keeps_alive(head("GET", 0, {{"Connection", "keep-alive"}})));
}

}  // namespace
}  // namespace duplex::http
