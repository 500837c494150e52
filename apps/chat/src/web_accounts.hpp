// The accounts on duplex's server: /api/ requests as account_api sees them, the Origin rule for
// requests that change state, and the WebSockets of each signed-in session, closed when it ends.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "account_api.hpp"
#include "duplex/http/request.hpp"
#include "duplex/server/http_response.hpp"
#include "session.hpp"

namespace duplex::chat {

// Browsers always send Origin on a WebSocket handshake and on a POST or DELETE; a page from
// another site must not drive a user's session with the user's cookie. Without an allow-list,
// only the server's own origin (http or https, the same Host) passes. A request without Origin
// (not a browser's) passes: it carries no cookie it did not set itself. 0, or 403.
int check_origin(const http::request& req, const std::vector<std::string>& allowed);
// Every method but GET, HEAD and OPTIONS is taken to change something.
bool changes_state(std::string_view method) noexcept;

// Views into `req`, `body` and `peer`: they must outlive the call to account_api::handle (the
// api copies what it keeps).
api_request api_request_of(const http::request& req, std::string_view body, std::string_view peer);
void fill(http_response& out, const api_response& in);

// The open WebSockets of each signed-in session, by user, so that a session that ends closes
// its sockets (4001) at once rather than at their next reconnection.
class session_sockets {
 public:
  void add(std::int64_t user_id, std::int64_t session_id, session& s);
  void remove(std::int64_t user_id, std::int64_t session_id, session& s);
  // Closes every socket of the user whose session `alive` says has ended. Returns how many.
  std::size_t sweep(std::int64_t user_id, const std::function<bool(std::int64_t)>& alive);
  std::size_t size() const noexcept;

 private:
  std::unordered_map<std::int64_t, std::multimap<std::int64_t, session*>> by_user_;
};

}  // namespace duplex::chat
