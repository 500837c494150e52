// The HTTP endpoints of accounts, as plain values in and out, over a real SQLite file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "accounts/accounts_support.hpp"
#include "src/account_api.hpp"

namespace duplex::chat {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct AccountApi : ::testing::Test {
  AccountApi() : service(config(), loop.poster()), api(service, test::ascii_names, {}) {}
  account_config config() {
    account_config c;
    c.db_path = file.path();
    c.cost = hash_cost::minimum();
    c.hash_threads = 1;
    return c;
  }
  api_response call(std::string_view method, std::string_view path, std::string_view body = {},
                    std::string_view cookie = {},
                    std::string_view content_type = "application/json") {
    api_request req{method, path, cookie, content_type, "Test/1", body, "127.0.0.1:4000"};
    std::optional<api_response> out;
    api.handle(req, [&](api_response r) {
      EXPECT_FALSE(out) << "answered twice";
      out = std::move(r);
    });
    for (int i = 0; !out && i < 100; ++i) {
      service.drain();
      loop.run();
    }
    EXPECT_TRUE(out) << "no answer";
    return out.value_or(api_response{});
  }
  static std::string cookie_of(const api_response& r) {
    const auto set = r.header("Set-Cookie").value_or("");
    return std::string(set.substr(0, set.find(';')));
  }
  static json body(const api_response& r) { return json::parse(r.body); }
  // Registers and returns the Cookie header that carries the new session.
  std::string join(std::string_view name, std::string_view password = "correct horse") {
    const auto r =
        call("POST", "/api/register", json{{"name", name}, {"password", password}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return cookie_of(r);
  }
  test::temp_db file;
  test::manual_loop loop;
  account_service service;
  account_api api;
};

TEST_F(AccountApi, RegisterSetsTheSessionCookie) {
  const auto r = call("POST", "/api/register", R"({"name":"Ann","password":"correct horse"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r)["user"]["name"], "Ann");
  EXPECT_EQ(body(r)["user"]["role"], "user");
  const auto set = std::string(r.header("Set-Cookie").value_or(""));
  EXPECT_TRUE(set.starts_with("duplex_session=")) << set;
  EXPECT_NE(set.find("; HttpOnly; SameSite=Lax"), std::string::npos) << set;
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  const auto me = call("GET", "/api/me", {}, "other=1; " + cookie_of(r));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(body(me)["user"]["name"], "Ann");
  EXPECT_TRUE(api.session_of(cookie_of(r)).session);
}

TEST_F(AccountApi, RefusalsOfRegistration) {
  join("bob");
  EXPECT_EQ(call("POST", "/api/register", R"({"name":"BOB","password":"correct horse"})").status,
            409);
  const auto alike = call("POST", "/api/register", R"({"name":"b0b","password":"correct horse"})");
  EXPECT_EQ(alike.status, 409);
  EXPECT_EQ(body(alike)["error"], "name_look_alike");
  const auto bad_name =
      call("POST", "/api/register", R"({"name":"a b","password":"correct horse"})");
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_EQ(body(bad_name)["error"], "invalid_name");
  const auto short_pw = call("POST", "/api/register", R"({"name":"cy","password":"short"})");
  EXPECT_EQ(short_pw.status, 400);
  EXPECT_EQ(body(short_pw)["error"], "invalid_password");
  EXPECT_EQ(body(short_pw)["message"], "the password is too short");
}

TEST_F(AccountApi, RequestsThatAreNotWellFormedJson) {
  EXPECT_EQ(call("POST", "/api/login", "name=a&password=b", {}, "application/x-www-form-urlencoded")
                .status,
            415);  // what a cross-site form could send
  EXPECT_EQ(call("POST", "/api/login", "{", {}).status, 400);
  EXPECT_EQ(call("POST", "/api/login", R"({"name":"a"})").status, 400);
  EXPECT_EQ(call("POST", "/api/login", R"({"name":"a","password":7})").status, 400);
  EXPECT_EQ(call("POST", "/api/login", R"(["name","password"])").status, 400);
  EXPECT_EQ(call("POST", "/api/login", std::string(5000, ' ')).status, 413);
  EXPECT_EQ(call("POST", "/api/login", R"({"name":"a","password":"b"})", {},
                 "Application/JSON; charset=utf-8")
                .status,
            401);
}

TEST_F(AccountApi, LoginLogoutAndTheClearingCookie) {
  join("dee");
  const auto wrong = call("POST", "/api/login", R"({"name":"dee","password":"wrong horse"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(body(wrong)["error"], "bad_credentials");
  EXPECT_FALSE(wrong.header("Set-Cookie"));
  // Not a name at all: the same answer as a wrong password.
  EXPECT_EQ(call("POST", "/api/login", R"({"name":"d e e","password":"correct horse"})").status,
            401);
  const auto in = call("POST", "/api/login", R"({"name":"DEE","password":"correct horse"})");
  ASSERT_EQ(in.status, 200) << in.body;
  const auto cookie = cookie_of(in);
  EXPECT_EQ(call("GET", "/api/me", {}, cookie).status, 200);
  const auto out = call("POST", "/api/logout", {}, cookie, {});
  EXPECT_EQ(out.status, 204);
  EXPECT_TRUE(std::string(out.header("Set-Cookie").value_or("")).starts_with("duplex_session=;"));
  EXPECT_EQ(call("GET", "/api/me", {}, cookie).status, 401);
  EXPECT_EQ(call("POST", "/api/logout", {}, cookie, {}).status, 204);  // again: harmless
}

TEST_F(AccountApi, SessionsListedAndRevoked) {
  const auto first = join("eli");
  const auto second =
      cookie_of(call("POST", "/api/login", R"({"name":"eli","password":"correct horse"})"));
  const auto third =
      cookie_of(call("POST", "/api/login", R"({"name":"eli","password":"correct horse"})"));
  const auto list = call("GET", "/api/sessions", {}, first);
  ASSERT_EQ(list.status, 200);
  const auto sessions = body(list)["sessions"];
  ASSERT_EQ(sessions.size(), 3u);
  int current = 0;
  for (const auto& s : sessions) {
    current += s["current"].get<bool>();
    EXPECT_EQ(s["user_agent"], "Test/1");
    EXPECT_EQ(s["address"], "127.0.0.1");
  }
  EXPECT_EQ(current, 1);
  const auto second_id = body(call("GET", "/api/me", {}, second))["session"].get<std::int64_t>();
  EXPECT_EQ(call("DELETE", "/api/sessions/" + std::to_string(second_id), {}, first).status, 204);
  EXPECT_EQ(call("GET", "/api/me", {}, second).status, 401);
  EXPECT_EQ(call("DELETE", "/api/sessions/" + std::to_string(second_id), {}, first).status, 404);
  EXPECT_EQ(call("DELETE", "/api/sessions/x1", {}, first).status, 404);
  const auto others = call("DELETE", "/api/sessions", {}, first);
  EXPECT_EQ(body(others)["revoked"], 1);
  EXPECT_EQ(call("GET", "/api/me", {}, third).status, 401);
  // Ending one's own session by id also clears the cookie.
  const auto own = body(call("GET", "/api/me", {}, first))["session"].get<std::int64_t>();
  const auto self = call("DELETE", "/api/sessions/" + std::to_string(own), {}, first);
  EXPECT_EQ(self.status, 204);
  EXPECT_TRUE(self.header("Set-Cookie"));
  EXPECT_EQ(call("GET", "/api/sessions", {}, first).status, 401);
}

TEST_F(AccountApi, PasswordChangeKeepsThisSessionOnly) {
  const auto mine = join("fox");
  const auto other =
      cookie_of(call("POST", "/api/login", R"({"name":"fox","password":"correct horse"})"));
  EXPECT_EQ(call("POST", "/api/password", R"({"current":"correct horse","password":"new pass 1"})")
                .status,
            401);  // not signed in
  const auto wrong =
      call("POST", "/api/password", R"({"current":"wrong horse","password":"new pass 1"})", mine);
  EXPECT_EQ(wrong.status, 401);
  const auto ok =
      call("POST", "/api/password", R"({"current":"correct horse","password":"new pass 1"})", mine);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["revoked"], 1);
  EXPECT_EQ(call("GET", "/api/me", {}, mine).status, 200);
  EXPECT_EQ(call("GET", "/api/me", {}, other).status, 401);
  EXPECT_EQ(call("POST", "/api/login", R"({"name":"fox","password":"new pass 1"})").status, 200);
}

TEST_F(AccountApi, TooManyAttemptsGet429WithRetryAfter) {
  join("guy");
  int limited = 0;
  for (int i = 0; i < 12 && !limited; ++i) {
    const auto r = call("POST", "/api/login", R"({"name":"guy","password":"wrong horse"})");
    if (r.status == 429) {
      ++limited;
      const auto after = std::stoi(std::string(r.header("Retry-After").value_or("0")));
      EXPECT_GE(after, 1);
      EXPECT_LE(after, 60);
      EXPECT_EQ(body(r)["error"], "rate_limited");
    } else {
      EXPECT_EQ(r.status, 401);
    }
  }
  EXPECT_EQ(limited, 1);  // the eleventh: ten a burst by default
}

TEST_F(AccountApi, AnUnreadableDatabaseIs503NotASignOut) {
  const auto cookie = join("hex");
  {
    sql::connection db(file.path(), 1s);
    db.exec("ALTER TABLE sessions RENAME TO gone");
  }
  const auto out = call("POST", "/api/logout", {}, cookie, {});
  EXPECT_EQ(out.status, 503);
  EXPECT_FALSE(out.header("Set-Cookie"));
  EXPECT_EQ(call("GET", "/api/me", {}, cookie).status, 503);
  EXPECT_EQ(call("GET", "/api/sessions", {}, cookie).status, 503);
  {
    sql::connection db(file.path(), 1s);
    db.exec("ALTER TABLE gone RENAME TO sessions");
  }
  EXPECT_EQ(call("POST", "/api/logout", {}, cookie, {}).status, 204);
  EXPECT_EQ(call("GET", "/api/me", {}, cookie).status, 401);
}

TEST_F(AccountApi, UnknownPathsAndMethods) {
  EXPECT_EQ(call("GET", "/api/nothing").status, 404);
  const auto r = call("GET", "/api/login");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "POST");
  EXPECT_EQ(call("PUT", "/api/sessions").header("Allow"), "GET, DELETE");
  EXPECT_EQ(call("GET", "/api/sessions/3").header("Allow"), "DELETE");
  EXPECT_EQ(call("GET", "/api/sessions", {}, "duplex_session=nonsense").status, 401);
  EXPECT_TRUE(account_api::handles("/api/sessions/12"));
  EXPECT_FALSE(account_api::handles("/ws"));
}

TEST(AccountApiOptions, ClosedRegistrationAndSecureCookies) {
  test::temp_db file;
  test::manual_loop loop;
  account_config c;
  c.db_path = file.path();
  c.cost = hash_cost::minimum();
  account_service service(c, loop.poster());
  api_options o;
  o.registration_open = false;
  o.cookie.secure = true;
  account_api api(service, test::ascii_names, o);
  std::optional<api_response> out;
  api.handle({"POST",
              "/api/register",
              {},
              "application/json",
              "",
              R"({"name":"a","password":"correct horse"})",
              "::1"},
             [&](api_response r) { out = r; });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 403);
  out.reset();
  api.handle({"POST", "/api/logout", {}, {}, "", {}, "::1"}, [&](api_response r) { out = r; });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->header("Set-Cookie"),
            "__Host-duplex_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
}

TEST_F(AccountApi, ADisplayNameIsChosenAndKeptApart) {
  const auto ann = join("ann");
  const auto bob = join("bob");
  const auto set = call("POST", "/api/profile", R"({"display":"Olive"})", ann);
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(body(set)["user"]["display"], "Olive");
  EXPECT_EQ(body(set)["user"]["name"], "ann");
  EXPECT_EQ(body(call("GET", "/api/me", {}, ann))["user"]["display"], "Olive");
  EXPECT_EQ(body(call("POST", "/api/profile", R"({"display":"OLIVE"})", bob))["error"],
            "name_taken");
  EXPECT_EQ(body(call("POST", "/api/profile", R"({"display":"Ann"})", bob))["error"], "name_taken");
  EXPECT_EQ(body(call("POST", "/api/profile", R"({"display":"0live"})", bob))["error"],
            "name_look_alike");
  EXPECT_EQ(call("POST", "/api/profile", R"({"display":"a b"})", bob).status, 400);
  EXPECT_EQ(call("POST", "/api/profile", R"({"display":"Bobby"})").status, 401);
  const auto sign_up =
      call("POST", "/api/register", R"({"name":"olive","password":"correct horse"})");
  EXPECT_EQ(body(sign_up)["error"], "name_taken");  // a sign-in name may not be a display name
  const auto cleared = call("POST", "/api/profile", R"({"display":""})", ann);
  EXPECT_EQ(body(cleared)["user"]["display"], "ann");
}

}  // namespace
}  // namespace duplex::chat
