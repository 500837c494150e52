// The accounts' glue to the server: the Origin rule of state-changing requests, requests and
// answers translated both ways, and the sockets a session's end closes.
#include <gtest/gtest.h>

#include "src/web_accounts.hpp"

namespace duplex::chat {
namespace {

http::request request_with(std::string_view method, std::vector<http::header> headers) {
  http::request r;
  r.method = method;
  r.target = "/api/login";
  r.headers = std::move(headers);
  return r;
}

TEST(WebAccounts, OnlyTheChatsOwnOriginMayChangeState) {
  const auto same =
      request_with("POST", {{"Host", "chat.test:8080"}, {"Origin", "http://chat.test:8080"}});
  const auto tls = request_with("POST", {{"Host", "chat.test"}, {"Origin", "https://chat.test"}});
  const auto other = request_with("POST", {{"Host", "chat.test"}, {"Origin", "https://evil.test"}});
  const auto port =
      request_with("POST", {{"Host", "chat.test"}, {"Origin", "http://chat.test:81"}});
  const auto none = request_with("POST", {{"Host", "chat.test"}});
  EXPECT_EQ(check_origin(same, {}), 0);
  EXPECT_EQ(check_origin(tls, {}), 0);
  EXPECT_EQ(check_origin(other, {}), 403);
  EXPECT_EQ(check_origin(port, {}), 403);
  EXPECT_EQ(check_origin(none, {}), 0);  // not a browser: it has no one else's cookie
  EXPECT_EQ(check_origin(other, {"https://evil.test"}), 0);
  EXPECT_EQ(check_origin(same, {"https://evil.test"}), 403);  // a list replaces the default
  EXPECT_TRUE(changes_state("POST"));
  EXPECT_TRUE(changes_state("DELETE"));
  EXPECT_TRUE(changes_state("PUT"));
  EXPECT_FALSE(changes_state("GET"));
  EXPECT_FALSE(changes_state("HEAD"));
}

TEST(WebAccounts, RequestsAndAnswersTranslate) {
  auto req = request_with("POST", {{"cookie", "duplex_session=abc"},
                                   {"Content-Type", "application/json"},
                                   {"User-Agent", "test/1"}});
  const std::string body = R"({"name":"ann"})";
  const auto a = api_request_of(req, body, "127.0.0.1:9");
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.path, "/api/login");
  EXPECT_EQ(a.cookie, "duplex_session=abc");
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_EQ(a.user_agent, "test/1");
  EXPECT_EQ(a.body, body);
  EXPECT_EQ(a.peer, "127.0.0.1:9");

  api_response in;
  in.status = 429;
  in.headers = {{"Content-Type", "application/json; charset=utf-8"}, {"Retry-After", "7"}};
  in.body = R"({"error":"rate_limited"})";
  http_response out;
  fill(out, in);
  EXPECT_EQ(out.status(), 429);
  EXPECT_EQ(out.body(), in.body);
  const auto wire = out.serialize(false, false);
  EXPECT_NE(wire.find("Retry-After: 7\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Content-Type: application/json; charset=utf-8\r\n"), std::string::npos);
}

struct closing_session final : session {
  bool send(std::string_view, bool) override { return true; }
  void close(ws::close_code code, std::string_view) override { closed = ws::to_int(code); }
  void subscribe(std::string_view) override {}
  void unsubscribe(std::string_view) override {}
  std::uint16_t closed = 0;
};

TEST(WebAccounts, AnEndedSessionClosesItsSocketsOnly) {
  session_sockets sockets;
  closing_session tab1, tab2, phone, other_user;
  sockets.add(1, 10, tab1);
  sockets.add(1, 10, tab2);
  sockets.add(1, 11, phone);
  sockets.add(2, 12, other_user);
  EXPECT_EQ(sockets.size(), 4u);
  std::vector<std::int64_t> asked;
  const auto closed = sockets.sweep(1, [&](std::int64_t id) {
    asked.push_back(id);
    return id != 10;
  });
  EXPECT_EQ(closed, 2u);
  EXPECT_EQ(asked, (std::vector<std::int64_t>{10, 11}));  // once per session
  EXPECT_EQ(tab1.closed, ws::to_int(close_signed_out));
  EXPECT_EQ(tab2.closed, ws::to_int(close_signed_out));
  EXPECT_EQ(phone.closed, 0);
  EXPECT_EQ(other_user.closed, 0);
  sockets.remove(1, 10, tab1);
  sockets.remove(1, 10, tab2);
  sockets.remove(1, 11, phone);
  sockets.remove(1, 11, phone);  // twice: harmless
  EXPECT_EQ(sockets.size(), 1u);
  EXPECT_EQ(sockets.sweep(3, [](std::int64_t) { return false; }), 0u);
}

}  // namespace
}  // namespace duplex::chat
