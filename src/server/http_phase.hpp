// The server's HTTP phase: request heads read until one upgrades, and plain requests answered
// by the application's routes.
#pragma once

#include <memory>
#include <string>

#include "duplex/http/request.hpp"
#include "duplex/http/request_parser.hpp"
#include "exchange.hpp"

namespace duplex {
class http_response;
namespace net {
class event_loop;
}
}  // namespace duplex

namespace duplex::detail {

struct server_state;

// Bytes held only while a request head is being read, freed once the socket upgrades.
struct http_state {
  explicit http_state(const http::parser_limits& l) : reader(l) {}
  http::request_reader reader;
  std::unique_ptr<body_state> body;  // from the first request on a body route
};

// The answer to a plain (not upgrading) request: its route's, 426 on a WebSocket route, or the
// fallback's. False if the handler threw (reported to the loop): the caller answers 500.
bool answer_plain(const server_state& s, net::event_loop& loop, const http::request& req,
                  http_response& res);

}  // namespace duplex::detail
