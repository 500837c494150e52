#include "duplex/http/expect.hpp"

#include <gtest/gtest.h>

namespace duplex::http {
namespace {

// RFC 9110 section 10.1.1.
request head(int minor, std::vector<header> headers) {
  request r;
  r.method = "POST";
  r.target = "/";
  r.version_minor = minor;
  r.headers = std::move(headers);
  return r;
}

TEST(Expect, ContinueOnlyForAnHttp11BodyWithinTheLimit) {
  auto action = [](int minor, std::vector<header> headers) {
    return decide_expect(head(minor, std::move(headers)), 100).action;
  };
  const header expect{"Expect", "100-continue"};
  const header chunked{"Transfer-Encoding", "chunked"};
  EXPECT_EQ(action(1, {expect, {"Content-Length", "100"}}), expect_action::send_continue);
  EXPECT_EQ(action(1, {{"expect", "100-Continue"}, chunked}), expect_action::send_continue);
  EXPECT_EQ(action(1, {{"Expect", " 100-continue ,"}, chunked}), expect_action::send_continue);
  // No body: nothing to wait for.
  EXPECT_EQ(action(1, {expect}), expect_action::read_body);
  EXPECT_EQ(action(1, {expect, {"Content-Length", "0"}}), expect_action::read_body);
  // HTTP/1.0 ignores the expectation.
  EXPECT_EQ(action(0, {expect, {"Content-Length", "5"}}), expect_action::read_body);
  // No Expect: read the body as it comes.
  EXPECT_EQ(action(1, {{"Content-Length", "5"}}), expect_action::read_body);
  EXPECT_EQ(action(1, {{"Expect", ""}, {"Content-Length", "5"}}), expect_action::read_body);
}

TEST(Expect, RefusalsNameTheirStatus) {
  auto decide = [](int minor, std::vector<header> headers) {
    const auto d = decide_expect(head(minor, std::move(headers)), 100);
    return d.action == expect_action::refuse ? status_for(d.error) : 0;
  };
  const header expect{"Expect", "100-continue"};
  EXPECT_EQ(decide(1, {expect, {"Content-Length", "101"}}), 413);
  EXPECT_EQ(decide(1, {{"Content-Length", "101"}}), 413);  // known too large either way
  EXPECT_EQ(decide(1, {{"Expect", "100-continue=1"}, {"Content-Length", "5"}}), 417);
  EXPECT_EQ(decide(1, {{"Expect", "200-ok"}}), 417);
  EXPECT_EQ(decide(0, {{"Expect", "200-ok"}}), 417);
  EXPECT_EQ(decide(1, {expect, {"Expect", "x"}, {"Content-Length", "5"}}), 417);
  EXPECT_EQ(decide(1, {{"Expect", "100-continue, \"a,100-continue\""}}), 417);
  EXPECT_EQ(decide(1, {expect, {"Transfer-Encoding", "gzip, chunked"}}), 501);
  EXPECT_EQ(decide(1, {expect, {"Content-Length", "1"}, {"Content-Length", "2"}}), 400);
  EXPECT_EQ(continue_response, "HTTP/1.1 100 Continue\r\n\r\n");
}

}  // namespace
}  // namespace duplex::http
