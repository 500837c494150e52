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

TEST(RequestRules, KeepAliveByVersionAndConnection) {
  EXPECT_TRUE(keeps_alive(head("GET", 1, {})));
  EXPECT_FALSE(keeps_alive(head("GET", 1, {{"Connection", "Close"}})));
  EXPECT_FALSE(keeps_alive(head("GET", 0, {})));
  EXPECT_TRUE(keeps_alive(head("GET", 0, {{"Connection", "keep-alive"}})));
}

}  // namespace
}  // namespace duplex::http
