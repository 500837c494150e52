// A copyable reference to one server-side WebSocket that any thread may keep and send through.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "duplex/ws/types.hpp"

namespace duplex {

class websocket;

namespace detail {
struct socket_token;
}

/// websocket::handle() makes one. Each call copies its data and posts the work to the socket's
/// loop, where it runs only if that very socket is still open: a handle never reaches a later
/// socket that happens to reuse the memory or the descriptor, and never dangles, even after the
/// server is destroyed. Handles are cheap to copy (a shared pointer) and safe to use from any
/// number of threads at once.
class socket_handle {
 public:
  /// A handle to no socket: every call returns false.
  socket_handle() = default;

  /// Any thread: sends one whole message on the socket's loop. False when the socket is known to
  /// be closed (the message is dropped); true means posted, and a socket that closes before the
  /// loop runs it drops it too. Backpressure applies as for websocket::send on the loop.
  bool send(std::string_view data, ws::opcode op = ws::opcode::text) const;
  /// Any thread: starts the close handshake on the loop; false when already closed.
  bool close(ws::close_code code = ws::close_code::normal, std::string_view reason = {}) const;
  /// Any thread: false once the socket has closed (on_close has run or is about to).
  bool alive() const noexcept;
  /// alive().
  explicit operator bool() const noexcept { return alive(); }

 private:
  friend class websocket;
  explicit socket_handle(std::shared_ptr<detail::socket_token> token) noexcept
      : token_(std::move(token)) {}
  std::shared_ptr<detail::socket_token> token_;
};

}  // namespace duplex
