#include "duplex/ws/handshake.hpp"

#include <gtest/gtest.h>

#include "duplex/http/request_parser.hpp"

namespace duplex::ws {
namespace {

struct parsed {
  std::string buf;
  http::request_parser parser;
  const http::request& req() const { return parser.request(); }
};

std::unique_ptr<parsed> parse(std::string text) {
  auto p = std::make_unique<parsed>();
  p->buf = std::move(text);
  EXPECT_EQ(p->parser.parse(p->buf), http::request_parser::status::complete) << p->buf;
  return p;
}

std::string request_with(std::string first_line, std::vector<std::string> headers) {
  std::string s = first_line + "\r\n";
  for (auto& h : headers)
    s += h + "\r\n";
  return s + "\r\n";
}

std::vector<std::string> good_headers() {
  return {"Host: example.com", "Upgrade: websocket", "Connection: keep-alive, Upgrade",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"};
}

std::vector<std::string> without(std::string prefix) {
  auto h = good_headers();
  std::erase_if(h, [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
  return h;
}

std::vector<std::string> with(std::vector<std::string> h, std::string extra) {
  h.push_back(std::move(extra));
  return h;
}

// RFC 9110 section 8.6: Content-Length is 1*DIGIT, so "00" is a zero: no body.
TEST(Handshake, ZeroPaddedContentLengthIsNoBody) {
  auto p = parse(request_with("GET / HTTP/1.1", with(good_headers(), "Content-Length: 00")));
  upgrade_request up;
  EXPECT_FALSE(validate_upgrade(p->req(), up));
}

// The parser refuses differing lengths; a request built by hand must not get through on the
// first value either (RFC 9112 section 6.3 item 5).
TEST(Handshake, DifferingContentLengthsAreRefused) {
  auto p = parse(request_with("GET / HTTP/1.1", good_headers()));
  http::request req = p->req();
  req.headers.push_back({"Content-Length", "0"});
  req.headers.push_back({"Content-Length", "5"});
  upgrade_request up;
  EXPECT_EQ(validate_upgrade(req, up), make_error_code(handshake_errc::has_body));
}

TEST(Handshake, AcceptKeyFromRfc6455) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(verify_accept("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
  EXPECT_FALSE(verify_accept("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOp="));
}

TEST(Handshake, ValidRequestIsAccepted) {
  auto p = parse(request_with("GET /chat HTTP/1.1", with(good_headers(), "Origin: http://x")));
  upgrade_request up;
  EXPECT_FALSE(validate_upgrade(p->req(), up));
  EXPECT_EQ(up.key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(up.origin, "http://x");
  const auto response = accept_response(up.key);
  EXPECT_EQ(response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_NE(response.find("Upgrade: websocket\r\n"), std::string::npos);
}

TEST(Handshake, HeaderValuesAreCaseInsensitiveWhereTheRfcSaysSo) {
  auto h = without("Upgrade");
  h.push_back("upgrade: WebSocket");
  std::erase_if(h, [](auto& s) { return s.rfind("Connection", 0) == 0; });
  h.push_back("connection: UPGRADE");
  auto p = parse(request_with("GET / HTTP/1.1", h));
  upgrade_request up;
  EXPECT_FALSE(validate_upgrade(p->req(), up));
}

struct bad {
  const char* name;
  std::string request;
  handshake_errc error;
  int status;
};

class HandshakeBad : public ::testing::TestWithParam<bad> {};

TEST_P(HandshakeBad, RefusedWithTheDocumentedStatus) {
  auto p = parse(GetParam().request);
  upgrade_request up;
  const auto ec = validate_upgrade(p->req(), up);
  EXPECT_EQ(ec, make_error_code(GetParam().error)) << ec.message();
  EXPECT_EQ(status_for(GetParam().error), GetParam().status);
  const auto response = reject_response(GetParam().error);
  EXPECT_EQ(response.rfind("HTTP/1.1 " + std::to_string(GetParam().status), 0), 0u);
  if (GetParam().status == 426) {
    EXPECT_NE(response.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HandshakeBad,
    ::testing::Values(
        bad{"post", request_with("POST / HTTP/1.1", good_headers()), handshake_errc::not_get, 400},
        bad{"http10", request_with("GET / HTTP/1.0", good_headers()), handshake_errc::not_http11,
            400},
        bad{"no_host", request_with("GET / HTTP/1.1", without("Host")),
            handshake_errc::missing_host, 400},
        bad{"two_hosts", request_with("GET / HTTP/1.1", with(good_headers(), "Host: b")),
            handshake_errc::missing_host, 400},
        bad{"no_upgrade", request_with("GET / HTTP/1.1", without("Upgrade")),
            handshake_errc::missing_upgrade, 400},
        bad{"upgrade_h2c", request_with("GET / HTTP/1.1", with(without("Upgrade"), "Upgrade: h2c")),
            handshake_errc::missing_upgrade, 400},
        bad{"no_connection", request_with("GET / HTTP/1.1", without("Connection")),
            handshake_errc::missing_connection_upgrade, 400},
        bad{"connection_close",
            request_with("GET / HTTP/1.1", with(without("Connection"), "Connection: close")),
            handshake_errc::missing_connection_upgrade, 400},
        bad{"no_version", request_with("GET / HTTP/1.1", without("Sec-WebSocket-Version")),
            handshake_errc::unsupported_version, 426},
        bad{"version_8",
            request_with("GET / HTTP/1.1",
                         with(without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8")),
            handshake_errc::unsupported_version, 426},
        bad{"no_key", request_with("GET / HTTP/1.1", without("Sec-WebSocket-Key")),
            handshake_errc::missing_key, 400},
        bad{"short_key",
            request_with("GET / HTTP/1.1", with(without("Sec-WebSocket-Key"),
                                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ")),
            handshake_errc::invalid_key, 400},
        bad{"key_15_bytes",
            request_with("GET / HTTP/1.1", with(without("Sec-WebSocket-Key"),
                                                "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA")),
            handshake_errc::invalid_key, 400},
        bad{"key_not_base64",
            request_with("GET / HTTP/1.1", with(without("Sec-WebSocket-Key"),
                                                "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==")),
            handshake_errc::invalid_key, 400},
        bad{"two_keys",
            request_with("GET / HTTP/1.1",
                         with(good_headers(), "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")),
            handshake_errc::duplicate_header, 400},
        bad{"body", request_with("GET / HTTP/1.1", with(good_headers(), "Content-Length: 5")),
            handshake_errc::has_body, 400},
        bad{"chunked",
            request_with("GET / HTTP/1.1", with(good_headers(), "Transfer-Encoding: chunked")),
            handshake_errc::has_body, 400}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Handshake, WhatCountsAsAnUpgradeAttempt) {
  EXPECT_TRUE(is_upgrade_attempt(parse(request_with("GET / HTTP/1.1", good_headers()))->req()));
  EXPECT_TRUE(is_upgrade_attempt(parse(request_with("GET / HTTP/1.1", without("Upgrade")))->req()));
  EXPECT_FALSE(is_upgrade_attempt(parse(request_with("GET / HTTP/1.1", {"Host: a"}))->req()));
  EXPECT_FALSE(is_upgrade_attempt(
      parse(request_with("GET / HTTP/1.1", {"Host: a", "Upgrade: h2c"}))->req()));
}

TEST(Handshake, ClientRequestIsAcceptedByTheServerSide) {
  auto p = parse(client_request("h:1", "/x", "dGhlIHNhbXBsZSBub25jZQ=="));
  upgrade_request up;
  EXPECT_FALSE(validate_upgrade(p->req(), up));
  EXPECT_EQ(p->req().target, "/x");
}

}  // namespace
}  // namespace duplex::ws

namespace duplex::ws {
namespace {

// The client's checks of a 101, in the ws layer.
TEST(Handshake, ClientChecksOfTheServersAnswer) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  auto parse_response = [](std::string text) {
    auto p = std::make_unique<std::pair<std::string, http::response_parser>>(
        std::move(text), http::response_parser{});
    EXPECT_EQ(p->second.parse(p->first), http::response_parser::status::complete) << p->first;
    return p;
  };
  auto answer = [&](std::string extra, int status = 101) {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
           accept_key(key) + "\r\n" + extra + "\r\n";
  };
  deflate_options offered;
  offered.enabled = true;
  const std::vector<std::string> protocols{"a", "b"};
  struct item {
    std::string response;
    std::error_code expect;
  };
  for (const auto& it :
       {item{answer(""), {}}, item{answer("", 200), handshake_errc::not_switching_protocols},
        item{answer("Sec-WebSocket-Protocol: b\r\n"), {}},
        item{answer("Sec-WebSocket-Protocol: c\r\n"), handshake_errc::unexpected_subprotocol},
        item{answer("Sec-WebSocket-Extensions: permessage-deflate\r\n"), {}},
        item{answer("Sec-WebSocket-Extensions: x-other\r\n"), handshake_errc::unexpected_extension},
        item{"HTTP/1.1 101 X\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept_key(key) +
                 "\r\n\r\n",
             handshake_errc::missing_upgrade},
        item{"HTTP/1.1 101 X\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + accept_key(key) +
                 "\r\n\r\n",
             handshake_errc::missing_connection_upgrade},
        item{"HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
             "x\r\n\r\n",
             handshake_errc::bad_accept}}) {
    auto p = parse_response(it.response);
    std::optional<deflate_params> agreed;
    EXPECT_EQ(check_response(p->second.response(), key, protocols, offered, agreed), it.expect)
        << it.response;
  }
  // An extension answered when none was offered is refused too.
  auto p = parse_response(answer("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
  std::optional<deflate_params> agreed;
  EXPECT_EQ(check_response(p->second.response(), key, protocols, deflate_options{}, agreed),
            make_error_code(handshake_errc::unexpected_extension));
}

TEST(Handshake, OfferedSubprotocolsFromEveryHeader) {
  auto p = parse(request_with(
      "GET / HTTP/1.1",
      with(with(good_headers(), "Sec-WebSocket-Protocol: a, b"), "Sec-WebSocket-Protocol: c")));
  upgrade_request up;
  ASSERT_FALSE(validate_upgrade(p->req(), up));
  EXPECT_EQ(up.protocols, (std::vector<std::string_view>{"a", "b", "c"}));
}

TEST(Handshake, SubprotocolChoiceFollowsOurPreference) {
  const std::vector<std::string> ours{"v2", "v1"};
  EXPECT_EQ(choose_subprotocol(ours, {"v1", "v2"}), "v2");
  EXPECT_EQ(choose_subprotocol(ours, {"v1"}), "v1");
  EXPECT_EQ(choose_subprotocol(ours, {"v3"}), "");
  EXPECT_EQ(choose_subprotocol({}, {"v1"}), "");
}

TEST(Handshake, OriginAllowList) {
  EXPECT_TRUE(origin_allowed({}, "https://any.example"));
  EXPECT_TRUE(origin_allowed({}, ""));
  const std::vector<std::string> only{"https://chat.example"};
  EXPECT_TRUE(origin_allowed(only, "https://chat.example"));
  EXPECT_FALSE(origin_allowed(only, "https://chat.example.evil"));
  EXPECT_FALSE(origin_allowed(only, "HTTPS://CHAT.EXAMPLE"));
  EXPECT_FALSE(origin_allowed(only, ""));
}

TEST(Handshake, OnlyAnOfferedSubprotocolMayBeAnswered) {
  const std::vector<std::string> offered{"a", "b"};
  EXPECT_TRUE(may_answer_subprotocol(offered, "b"));
  EXPECT_TRUE(may_answer_subprotocol(offered, ""));
  EXPECT_FALSE(may_answer_subprotocol(offered, "c"));
  EXPECT_FALSE(may_answer_subprotocol({}, "a"));
}

TEST(Handshake, OfferRequestCarriesTheOfferAndTheHeaders) {
  deflate_options d;
  d.enabled = true;
  std::string refused;
  const std::string req = offer_request("h:1", "/p", "dGhlIHNhbXBsZSBub25jZQ==", {"a", "b"}, d,
                                        {{"Origin", "https://o.example"}}, refused);
  EXPECT_EQ(refused, "");
  EXPECT_NE(req.find("Sec-WebSocket-Protocol: a, b\r\n"), std::string::npos);
  EXPECT_NE(req.find("Sec-WebSocket-Extensions: " + deflate_offer(d) + "\r\n"), std::string::npos);
  EXPECT_NE(req.find("Origin: https://o.example\r\n"), std::string::npos);
  // The server side takes it as a valid upgrade that offers both.
  auto p = parse(req);
  upgrade_request up;
  ASSERT_FALSE(validate_upgrade(p->req(), up));
  EXPECT_EQ(up.protocols, (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(up.origin, "https://o.example");
}

TEST(Handshake, OfferRequestWithoutOfferNamesNoProtocolOrExtension) {
  std::string refused;
  const std::string req = offer_request("h", "/", "k", {}, {}, {}, refused);
  EXPECT_EQ(req.find("Sec-WebSocket-Protocol"), std::string::npos);
  EXPECT_EQ(req.find("Sec-WebSocket-Extensions"), std::string::npos);
}

TEST(Handshake, OfferRequestRefusesAHeaderThatSplitsIt) {
  std::string refused;
  EXPECT_EQ(offer_request("h", "/", "k", {}, {}, {{"X", "1\r\nEvil: 2"}}, refused), "");
  EXPECT_EQ(refused, "X");
  EXPECT_EQ(offer_request("h", "/", "k", {}, {}, {{"Bad Name", "v"}}, refused), "");
  EXPECT_EQ(refused, "Bad Name");
  EXPECT_EQ(offer_request("h", "/", "k", {"a\r\nb"}, {}, {}, refused), "");
  EXPECT_EQ(refused, "Sec-WebSocket-Protocol");
}

}  // namespace
}  // namespace duplex::ws
