#include "account_replies.hpp"

namespace duplex::chat::replies {
namespace {

struct mapped {
  int status;
  const char* message;
};

mapped mapping(status s) {
  switch (s) {
    case status::ok:
      return {200, ""};
    case status::busy:
      return {503, "the server is busy; try again in a moment"};
    case status::rate_limited:
      return {429, "too many attempts; wait before trying again"};
    case status::invalid_password:
      return {400, "the password breaks the rules"};
    case status::name_taken:
      return {409, "this name is taken"};
    case status::name_look_alike:
      return {409, "this name looks like one that is taken"};
    case status::bad_credentials:
      return {401, "wrong name or password"};
    case status::banned:
      return {403, "this account is banned"};
    case status::not_found:
      return {404, "no such session"};
    case status::store_failed:
      return {503, "the account store is unavailable; try again"};
  }
  return {500, "?"};
}

}  // namespace

nlohmann::json user_json(const user& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"display", u.shown()},
          {"role", std::string(to_string(u.role))}};
}

nlohmann::json session_json(const session_info& s, std::int64_t current_id) {
  return {{"id", s.id},
          {"created", s.created_ms},
          {"last_seen", s.last_seen_ms},
          {"user_agent", s.user_agent},
          {"address", s.address},
          {"current", s.id == current_id}};
}

api_response json_reply(int status, const nlohmann::json& body) {
  api_response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json; charset=utf-8"}, {"Cache-Control", "no-store"}};
  // Replacement characters for invalid UTF-8 (a user agent, say): never an exception here.
  if (!body.is_null()) r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

api_response error(int status, std::string_view code, std::string_view message) {
  return json_reply(status, {{"error", code}, {"message", message}});
}

api_response failure(const auth_result& r) {
  const auto m = mapping(r.what);
  std::string message = m.message;
  if (r.what == status::invalid_password) message = chat::describe(r.problem);
  auto out = error(m.status, to_string(r.what), message);
  if (r.what == status::rate_limited || r.what == status::busy) {
    const auto secs = (r.retry_after.count() + 999) / 1000;
    out.headers.emplace_back("Retry-After", std::to_string(secs > 0 ? secs : 1));
  }
  return out;
}

api_response signed_in_reply(int status, const auth_result& r, const cookie_options& cookie) {
  auto out = json_reply(status, {{"user", user_json(*r.who)}, {"session", r.session->info.id}});
  out.headers.emplace_back("Set-Cookie", session_cookie(cookie, r.session->token));
  return out;
}

}  // namespace duplex::chat::replies
