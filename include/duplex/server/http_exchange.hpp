// One plain-HTTP request with a body, in progress on a server loop: the handle its handler gets.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "duplex/http/request.hpp"
#include "duplex/server/http_response.hpp"

namespace duplex {

namespace detail {
struct exchange_state;
}

// A cheap copyable handle on shared state. Use it on the loop thread that called the handler;
// from another thread, go through server::post(exchange.loop(), ...). Every call is safe after
// the exchange ended (the client left, the server shut down): it then does nothing.
class http_exchange {
 public:
  explicit http_exchange(std::shared_ptr<detail::exchange_state> state) noexcept
      : state_(std::move(state)) {}

  // The request head, a copy owned by the exchange: valid as long as a handle lives.
  const http::request& request() const noexcept;
  // The client's address: "127.0.0.1:40000" or "[::1]:40000".
  std::string_view peer() const noexcept;
  // Index of the loop that owns the exchange (for server::post).
  unsigned loop() const noexcept;
  // False once answered, or once the connection ended.
  bool open() const noexcept;

  // Answers; the first call counts, later ones are ignored, as is a call after the connection
  // ended. May come long after the handler returned (asynchronous work), or before the body
  // ended: the connection then closes after the answer, unless what is left of the body is a
  // known Content-Length small enough to read and discard. Until it comes, no timer runs on the
  // connection and its later requests wait: an exchange never answered holds its connection
  // until the client leaves.
  void respond(http_response response);

  // Streaming routes: stop reading the body (the kernel's window then pushes back on the
  // client) and continue. Delivery resumes from a posted task, never inside resume(). Time
  // spent paused is not held against the client by the body timeouts.
  void pause();
  void resume();

 private:
  std::shared_ptr<detail::exchange_state> state_;
};

// How a route takes bodies.
struct body_options {
  std::size_t max_bytes = 1024 * 1024;  // past it: 413 and the connection closes
  bool prefix = false;  // the route also takes every path under it ("/api/" -> "/api/x/y")
};

// Buffered: the whole body (bounded by max_bytes) gathered, then one call. Any method; a
// request without a body gives an empty string.
using http_body_handler = std::function<void(http_exchange exchange, std::string body)>;

// Streaming: the body in pieces as they come, with pause()/resume() for backpressure. Each
// exchange ends with exactly one of on_end or on_abort, unless the handler answered first.
struct http_stream_behavior {
  body_options body;
  // The head is in; no byte of the body was read (nor 100 Continue sent). May respond() at
  // once (a 401): the body is then never read.
  std::function<void(http_exchange&)> on_head;
  std::function<void(http_exchange&, std::string_view piece)> on_data;
  std::function<void(http_exchange&)> on_end;
  // The body did not end: truncated (http::errc::body_truncated), refused by the decoder (its
  // http::errc, already answered), timed out (std::errc::timed_out, answered 408), or the
  // connection ended (std::errc::connection_aborted). respond() does nothing here.
  std::function<void(http_exchange&, std::error_code why)> on_abort;
};

}  // namespace duplex
