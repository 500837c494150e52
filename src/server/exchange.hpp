// Internals of request bodies on the server: the routes that take them, the state an
// http_exchange handle shares with its connection, and what the connection holds per body.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "duplex/http/body_decoder.hpp"
#include "duplex/server/http_exchange.hpp"

namespace duplex::detail {

class socket_conn;

struct body_route {
  std::string path;
  body_options options;
  http_body_handler buffered;   // set for http_body routes
  http_stream_behavior stream;  // used when `streaming`
  bool streaming = false;
};

// Shared by the handles the application holds and the connection: `conn` is cleared when the
// exchange ends on the connection's side, which makes every later call on a handle a no-op.
struct exchange_state {
  socket_conn* conn = nullptr;
  unsigned loop = 0;
  std::string head;  // the head's bytes, which `request` views
  http::request request;
  std::string peer;
  bool keep_alive = true;
  bool head_only = false;  // HEAD: the answer has no body
  bool answered = false;
};

// What a connection holds while one exchange is in progress (allocated only for body routes).
struct body_state {
  std::shared_ptr<exchange_state> ex;
  const body_route* route = nullptr;
  http::body_decoder decoder{http::body_limits{}};
  std::string gathered;           // buffered routes: the body so far
  std::uint64_t length_left = 0;  // Content-Length bodies: what is not read yet
  std::uint64_t total_deadline = 0;
  std::uint64_t paused_at = 0;
  bool started = false;        // decoder.start() ran
  bool reading = false;        // the body has not ended
  bool continue_owed = false;  // the client waits for a 100 Continue not sent yet
  bool discarding = false;     // answered early: the rest is read and dropped
  bool close_after = false;    // answered: the connection closes after the answer
  bool paused = false;
  bool in_app = false;  // a callback of the route is running
};

// Bytes of an unread Content-Length body a connection reads and drops to stay open after an
// early answer; past it, the connection closes instead.
inline constexpr std::uint64_t discard_limit = 64 * 1024;

// A copy of `head` (where `req` points) owned by `ex`, with its request's views moved onto it.
void adopt_head(exchange_state& ex, const http::request& req, std::string_view head);

}  // namespace duplex::detail
