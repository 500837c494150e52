// The HTTP side of accounts, independent of any server: each request is plain values in, one
// response out, so the routes can be tested without sockets and wired to any HTTP layer.
// Endpoints (JSON bodies and answers): POST /api/register, /api/login, /api/logout,
// /api/password, /api/profile; GET /api/me, /api/sessions; DELETE /api/sessions,
// /api/sessions/{id}.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "account_service.hpp"
#include "cookies.hpp"

namespace duplex::chat {

struct api_request {
  std::string_view method;
  std::string_view path;    // without the query
  std::string_view cookie;  // the Cookie header, "" when absent
  std::string_view content_type;
  std::string_view user_agent;
  std::string_view body;
  std::string_view peer;  // "1.2.3.4:5678" or "[v6]:port"
};

struct api_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string_view> header(std::string_view name) const;
};

// Turns a typed name into its claim (display, key, skeleton), or explains in `problem` why it
// is not an acceptable name. The names module (PRECIS + UTS #39) provides the real one.
using name_rules =
    std::function<std::optional<name_claim>(std::string_view typed, std::string& problem)>;

struct api_options {
  cookie_options cookie;
  bool registration_open = true;  // false: accounts are made by the operator only
  std::size_t max_body_bytes = 4096;
  // Display names (POST /api/profile): the nickname profile; empty: the sign-in name rules.
  name_rules display_names;
  // Called on the loop after sessions of a user ended here (sign-out, a revocation, a password
  // change): the server closes the sockets those sessions opened.
  std::function<void(std::int64_t user_id)> sessions_ended;
};

class account_api {
 public:
  account_api(account_service& service, name_rules names, api_options options);

  // Whether a path is one of these endpoints (the caller sends everything else elsewhere).
  static bool handles(std::string_view path) noexcept;
  // `done` runs on the loop, once, possibly before handle() returns. It does not use this
  // object, so an answer that arrives while the server shuts down is harmless.
  void handle(const api_request& req, std::function<void(api_response)> done);
  // For the WebSocket upgrade: the live session a Cookie header carries, if any.
  lookup session_of(std::string_view cookie_header);

 private:
  using reply = std::function<void(api_response)>;
  void do_register(const api_request& req, reply done);
  void do_login(const api_request& req, reply done);
  void do_logout(const api_request& req, reply done);
  void do_password(const api_request& req, reply done);
  void do_profile(const api_request& req, reply done);
  void do_me(const api_request& req, reply done);
  void do_sessions(const api_request& req, reply done);
  void do_revoke(const api_request& req, reply done);
  // The session of the request, or an answer already sent (false).
  bool signed_in_as(const api_request& req, const reply& done, signed_in& out);

  account_service& service_;
  name_rules names_;
  api_options options_;
};

}  // namespace duplex::chat
