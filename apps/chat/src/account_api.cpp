#include "account_api.hpp"

#include <nlohmann/json.hpp>

#include "account_replies.hpp"

namespace duplex::chat {
namespace {

using nlohmann::json;
using namespace replies;

constexpr std::string_view sessions_path = "/api/sessions";

bool is_json(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && media.back() == ' ')
    media.remove_suffix(1);
  if (media.size() != 16) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "application/json"[i]) return false;
  }
  return true;
}

// The string fields a POST carries: a JSON object whose named members are all strings.
std::optional<std::vector<std::string>> fields(const api_request& req, std::size_t max_body,
                                               std::initializer_list<const char*> names,
                                               api_response& refusal) {
  if (req.body.size() > max_body) {
    refusal = error(413, "body_too_large", "the request body is too large");
    return std::nullopt;
  }
  if (!is_json(req.content_type)) {
    refusal = error(415, "json_only", "send Content-Type: application/json");
    return std::nullopt;
  }
  const json j = json::parse(req.body, nullptr, false);
  std::vector<std::string> out;
  for (const char* name : names) {
    if (!j.is_object() || !j.contains(name) || !j[name].is_string()) {
      refusal =
          error(400, "bad_json", std::string("expected a JSON object with string '") + name + "'");
      return std::nullopt;
    }
    out.push_back(j[name].get<std::string>());
  }
  return out;
}

client_info client_of(const api_request& req) {
  return {std::string(req.peer), std::string(req.user_agent)};
}

// "/api/sessions/123" -> 123; nullopt for anything else.
std::optional<std::int64_t> session_id_of(std::string_view path) {
  if (!path.starts_with(sessions_path) || path.size() <= sessions_path.size() + 1 ||
      path[sessions_path.size()] != '/')
    return std::nullopt;
  const auto digits = path.substr(sessions_path.size() + 1);
  if (digits.size() > 18) return std::nullopt;
  std::int64_t id = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return id;
}

}  // namespace

std::optional<std::string_view> api_response::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return std::nullopt;
}

account_api::account_api(account_service& service, name_rules names, api_options options)
    : service_(service), names_(std::move(names)), options_(std::move(options)) {}

bool account_api::handles(std::string_view path) noexcept {
  return path == "/api/register" || path == "/api/login" || path == "/api/logout" ||
         path == "/api/password" || path == "/api/profile" || path == "/api/me" ||
         path == sessions_path || path.starts_with("/api/sessions/");
}

void account_api::handle(const api_request& req, std::function<void(api_response)> done) {
  struct route {
    std::string_view path, method;
    void (account_api::*fn)(const api_request&, reply);
  };
  static constexpr route routes[] = {
      {"/api/register", "POST", &account_api::do_register},
      {"/api/login", "POST", &account_api::do_login},
      {"/api/logout", "POST", &account_api::do_logout},
      {"/api/password", "POST", &account_api::do_password},
      {"/api/profile", "POST", &account_api::do_profile},
      {"/api/me", "GET", &account_api::do_me},
      {sessions_path, "GET", &account_api::do_sessions},
      {sessions_path, "DELETE", &account_api::do_revoke},
  };
  const bool one_session = session_id_of(req.path).has_value();
  const std::string_view path = one_session ? sessions_path : req.path;
  std::string allow;
  for (const auto& r : routes) {
    if (r.path != path || (one_session && r.method != "DELETE")) continue;
    if (r.method == req.method) return (this->*r.fn)(req, std::move(done));
    allow += allow.empty() ? std::string(r.method) : ", " + std::string(r.method);
  }
  if (allow.empty()) return done(error(404, "not_found", "no such endpoint"));
  auto out = error(405, "method_not_allowed", "use " + allow);
  out.headers.emplace_back("Allow", allow);
  done(out);
}

lookup account_api::session_of(std::string_view cookie_header) {
  const auto token = find_cookie(cookie_header, cookie_name(options_.cookie));
  if (!token) return {};
  return service_.authenticate(*token);
}

bool account_api::signed_in_as(const api_request& req, const reply& done, signed_in& out) {
  auto found = session_of(req.cookie);
  if (found.failed) {
    done(failure(auth_result{status::store_failed, {}, {}, {}, {}, 0}));
    return false;
  }
  if (!found.session) {
    done(error(401, "not_signed_in", "sign in first"));
    return false;
  }
  out = std::move(*found.session);
  return true;
}

void account_api::do_register(const api_request& req, reply done) {
  if (!options_.registration_open)
    return done(error(403, "registration_closed", "accounts are made by the operator"));
  api_response refusal;
  auto f = fields(req, options_.max_body_bytes, {"name", "password"}, refusal);
  if (!f) return done(refusal);
  std::string problem;
  auto claim = names_((*f)[0], problem);
  if (!claim) return done(error(400, "invalid_name", problem));
  service_.register_user(
      *claim, std::move((*f)[1]), client_of(req), [done, cookie = options_.cookie](auth_result r) {
        done(r.what == status::ok ? signed_in_reply(201, r, cookie) : failure(r));
      });
}

void account_api::do_login(const api_request& req, reply done) {
  api_response refusal;
  auto f = fields(req, options_.max_body_bytes, {"name", "password"}, refusal);
  if (!f) return done(refusal);
  // A name that is not a name is an unknown one: the same answer, after the same work.
  std::string problem;
  const auto claim = names_((*f)[0], problem);
  service_.sign_in(claim ? std::string_view(claim->key) : std::string_view(), std::move((*f)[1]),
                   client_of(req), [done, cookie = options_.cookie](auth_result r) {
                     done(r.what == status::ok ? signed_in_reply(200, r, cookie) : failure(r));
                   });
}

void account_api::do_logout(const api_request& req, reply done) {
  auto forget = json_reply(204, nullptr);
  forget.headers.emplace_back("Set-Cookie", clearing_cookie(options_.cookie));
  const auto found = session_of(req.cookie);
  // A session that could not be looked up may still be live: say so rather than pretend.
  if (found.failed) return done(failure(auth_result{status::store_failed, {}, {}, {}, {}, 0}));
  if (!found.session) return done(forget);  // signed out already: the cookie goes anyway
  const auto user_id = found.session->who.id;
  service_.sign_out(
      *found.session, [done, forget, ended = options_.sessions_ended, user_id](auth_result r) {
        if (r.what == status::ok && ended) ended(user_id);
        done(r.what == status::ok || r.what == status::not_found ? forget : failure(r));
      });
}

void account_api::do_password(const api_request& req, reply done) {
  signed_in who;
  if (!signed_in_as(req, done, who)) return;
  api_response refusal;
  auto f = fields(req, options_.max_body_bytes, {"current", "password"}, refusal);
  if (!f) return done(refusal);
  service_.change_password(
      who, std::move((*f)[0]), std::move((*f)[1]), client_of(req),
      [done, ended = options_.sessions_ended, id = who.who.id](auth_result r) {
        if (r.what == status::ok && r.revoked > 0 && ended) ended(id);
        done(r.what == status::ok ? json_reply(200, {{"revoked", r.revoked}}) : failure(r));
      });
}

// {"display": "Name shown"}; "" goes back to showing the sign-in name. Sockets already open
// keep the name they had until they reconnect.
void account_api::do_profile(const api_request& req, reply done) {
  signed_in who;
  if (!signed_in_as(req, done, who)) return;
  api_response refusal;
  auto f = fields(req, options_.max_body_bytes, {"display"}, refusal);
  if (!f) return done(refusal);
  std::optional<name_claim> display;
  if (!(*f)[0].empty()) {
    std::string problem;
    const auto& rules = options_.display_names ? options_.display_names : names_;
    display = rules((*f)[0], problem);
    if (!display) return done(error(400, "invalid_name", problem));
  }
  service_.set_display(who, std::move(display), [done](auth_result r) {
    done(r.what == status::ok ? json_reply(200, {{"user", user_json(*r.who)}}) : failure(r));
  });
}

void account_api::do_me(const api_request& req, reply done) {
  signed_in who;
  if (!signed_in_as(req, done, who)) return;
  done(json_reply(200, {{"user", user_json(who.who)}, {"session", who.session.id}}));
}

void account_api::do_sessions(const api_request& req, reply done) {
  signed_in who;
  if (!signed_in_as(req, done, who)) return;
  const auto list = service_.sessions(who.who.id);
  if (!list) return done(failure(auth_result{status::store_failed, {}, {}, {}, {}, 0}));
  json out = json::array();
  for (const auto& s : *list)
    out.push_back(session_json(s, who.session.id));
  done(json_reply(200, {{"sessions", out}}));
}

// DELETE /api/sessions ends every other session; DELETE /api/sessions/{id} ends that one (the
// current one included, which then also clears the cookie).
void account_api::do_revoke(const api_request& req, reply done) {
  signed_in who;
  if (!signed_in_as(req, done, who)) return;
  const auto id = session_id_of(req.path);
  const auto ended = options_.sessions_ended;
  const auto user_id = who.who.id;
  if (!id) {
    return service_.revoke_others(who, [done, ended, user_id](auth_result r) {
      if (r.what == status::ok && r.revoked > 0 && ended) ended(user_id);
      done(r.what == status::ok ? json_reply(200, {{"revoked", r.revoked}}) : failure(r));
    });
  }
  const bool self = *id == who.session.id;
  service_.revoke(who, *id, [done, self, cookie = options_.cookie, ended, user_id](auth_result r) {
    if (r.what != status::ok) return done(failure(r));
    if (ended) ended(user_id);
    auto out = json_reply(204, nullptr);
    if (self) out.headers.emplace_back("Set-Cookie", clearing_cookie(cookie));
    done(out);
  });
}

}  // namespace duplex::chat
