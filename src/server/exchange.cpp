// The http_exchange handle, the body routes' table, and the head an exchange owns.
#include "duplex/server/http_exchange.hpp"

#include <cstdint>

#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex {
namespace detail {

void adopt_head(exchange_state& ex, const http::request& req, std::string_view head) {
  ex.head.assign(head);
  const auto from = reinterpret_cast<std::uintptr_t>(head.data());
  const std::string_view to(ex.head);
  // Every view of a parsed request lies inside its head.
  auto move = [&](std::string_view v) -> std::string_view {
    if (v.empty()) return {};
    const auto at = reinterpret_cast<std::uintptr_t>(v.data()) - from;
    return at + v.size() <= to.size() ? to.substr(at, v.size()) : std::string_view{};
  };
  ex.request.method = move(req.method);
  ex.request.target = move(req.target);
  ex.request.version_minor = req.version_minor;
  ex.request.headers.clear();
  ex.request.headers.reserve(req.headers.size());
  for (const auto& h : req.headers)
    ex.request.headers.push_back({move(h.name), move(h.value)});
}

const body_route* server_state::find_body(std::string_view path) const noexcept {
  const body_route* best = nullptr;
  for (const auto& r : body_routes) {
    if (r->path == path) return r.get();
    if (r->options.prefix && path.starts_with(r->path) &&
        (best == nullptr || r->path.size() > best->path.size()))
      best = r.get();
  }
  return best;
}

}  // namespace detail

// ---- http_exchange ---------------------------------------------------------------------

const http::request& http_exchange::request() const noexcept {
  static const http::request none;
  return state_ ? state_->request : none;
}

std::string_view http_exchange::peer() const noexcept {
  return state_ ? std::string_view(state_->peer) : std::string_view{};
}

unsigned http_exchange::loop() const noexcept {
  return state_ ? state_->loop : 0;
}

bool http_exchange::open() const noexcept {
  return state_ && state_->conn != nullptr && !state_->answered;
}

void http_exchange::respond(http_response response) {
  if (!open()) return;
  state_->conn->answer(response);
}

void http_exchange::pause() {
  if (open()) state_->conn->pause_body();
}

void http_exchange::resume() {
  if (state_ && state_->conn != nullptr) state_->conn->resume_body();
}

// ---- routes ----------------------------------------------------------------------------

server& server::http_body(std::string path, http_body_handler handler, body_options options) {
  auto r = std::make_unique<detail::body_route>();
  r->path = std::move(path);
  r->options = options;
  r->buffered = std::move(handler);
  state_->body_routes.push_back(std::move(r));
  return *this;
}

server& server::http_stream(std::string path, http_stream_behavior behavior) {
  auto r = std::make_unique<detail::body_route>();
  r->path = std::move(path);
  r->options = behavior.body;
  r->stream = std::move(behavior);
  r->streaming = true;
  state_->body_routes.push_back(std::move(r));
  return *this;
}

}  // namespace duplex
