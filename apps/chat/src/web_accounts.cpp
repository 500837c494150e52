#include "web_accounts.hpp"

#include <algorithm>

namespace duplex::chat {

int check_origin(const http::request& req, const std::vector<std::string>& allowed) {
  const auto origin = req.find("Origin");
  if (!origin) return 0;
  if (!allowed.empty())
    return std::find(allowed.begin(), allowed.end(), *origin) != allowed.end() ? 0 : 403;
  const std::string host(req.authority());
  return *origin == "http://" + host || *origin == "https://" + host ? 0 : 403;
}

bool changes_state(std::string_view method) noexcept {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

api_request api_request_of(const http::request& req, std::string_view body, std::string_view peer) {
  api_request out;
  out.method = req.method;
  out.path = req.path();
  out.cookie = req.find("Cookie").value_or(std::string_view());
  out.content_type = req.find("Content-Type").value_or(std::string_view());
  out.user_agent = req.find("User-Agent").value_or(std::string_view());
  out.body = body;
  out.peer = peer;
  return out;
}

void fill(http_response& out, const api_response& in) {
  out.status(in.status);
  std::string type = "application/json; charset=utf-8";
  for (const auto& [name, value] : in.headers) {
    if (name == "Content-Type")
      type = value;
    else
      out.header(name, value);
  }
  if (!in.body.empty()) out.body(in.body, type);
}

void session_sockets::add(std::int64_t user_id, std::int64_t session_id, session& s) {
  by_user_[user_id].emplace(session_id, &s);
}

void session_sockets::remove(std::int64_t user_id, std::int64_t session_id, session& s) {
  auto user = by_user_.find(user_id);
  if (user == by_user_.end()) return;
  auto [from, to] = user->second.equal_range(session_id);
  for (auto it = from; it != to; ++it)
    if (it->second == &s) {
      user->second.erase(it);
      break;
    }
  if (user->second.empty()) by_user_.erase(user);
}

std::size_t session_sockets::sweep(std::int64_t user_id,
                                   const std::function<bool(std::int64_t)>& alive) {
  auto user = by_user_.find(user_id);
  if (user == by_user_.end()) return 0;
  // Collected first: a close may come back here (remove) before this loop ends.
  std::vector<session*> ended;
  std::int64_t checked = 0;
  bool live = true;
  for (const auto& [id, s] : user->second) {
    if (id != checked) {
      live = alive(id);
      checked = id;
    }
    if (!live) ended.push_back(s);
  }
  for (session* s : ended)
    s->close(close_signed_out, "signed out");
  return ended.size();
}

std::size_t session_sockets::size() const noexcept {
  std::size_t n = 0;
  for (const auto& [user, sockets] : by_user_)
    n += sockets.size();
  return n;
}

}  // namespace duplex::chat
