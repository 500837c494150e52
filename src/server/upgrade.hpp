// The server's side of the opening handshake past RFC 6455's checks: the route's origin
// allow-list, its subprotocol choice and the application's upgrade hook.
#pragma once

#include <string>

#include "duplex/http/request.hpp"
#include "duplex/ws/handshake.hpp"

namespace duplex {
class websocket;
namespace net {
class event_loop;
}
}  // namespace duplex

namespace duplex::detail {

struct server_state;
struct route;

// 0 accepts, with the agreed subprotocol (possibly none) in `protocol`; otherwise the HTTP
// status that refuses: 403 for an origin not allowed, the hook's own, or 500 when the hook threw
// or chose a subprotocol the client did not offer.
int negotiate(const server_state& s, net::event_loop& loop, const route& r,
              const http::request& req, const ws::upgrade_request& up, websocket& socket,
              std::string& protocol);

}  // namespace duplex::detail
