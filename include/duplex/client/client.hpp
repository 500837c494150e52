// duplex::client: a WebSocket client on an event loop, with the server's limits and events.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duplex/client/error.hpp"
#include "duplex/net/event_loop.hpp"
#include "duplex/net/send_result.hpp"
#include "duplex/net/tls.hpp"
#include "duplex/ws/types.hpp"

namespace duplex {

/// How a client connects: limits, compression, subprotocols, extra headers, timeouts, TLS.
struct client_options {
  /// Message and fragment limits for what the server sends.
  ws::limits ws_limits{};
  ws::deflate_options deflate{};                             ///< offered when enabled
  std::vector<std::string> subprotocols;                     ///< offered, preferred first
  std::vector<std::pair<std::string, std::string>> headers;  ///< Origin, Cookie, Authorization...
  std::chrono::milliseconds open_timeout{10'000};            ///< TCP connect and handshake together
  std::chrono::milliseconds close_timeout{5'000};            ///< the close handshake's limit
  std::size_t max_backpressure = 16 * 1024 * 1024;           ///< past it, the connection is dropped
  std::size_t drain_watermark = 64 * 1024;  ///< on_drain fires when the queue falls to this
  /// wss://: the certificate chain and host name are verified against the system's trust
  /// store, or `tls.ca_file`; `tls.verify = false` turns that off (test certificates only).
  net::tls_options tls{};
};

class client;

/// The client's callbacks, each optional; they run on the client's loop thread.
struct client_handlers {
  /// The handshake succeeded: the client may send.
  std::function<void(client&)> on_open;
  /// A whole message (text or binary); `data` is valid during the call only.
  std::function<void(client&, std::string_view data, ws::opcode op)> on_message;
  /// With ws_limits.stream_fragments, data arrives here in pieces, `last` on the final one.
  /// Without this handler the pieces go to on_message.
  std::function<void(client&, std::string_view data, ws::opcode op, bool last)> on_fragment;
  /// A ping arrived (it is answered with a pong already).
  std::function<void(client&, std::string_view data)> on_ping;
  /// A pong arrived (an answer to ping()).
  std::function<void(client&, std::string_view data)> on_pong;
  /// After on_open, always once: the code of the close, or 1006 if TCP ended without one.
  std::function<void(client&, ws::close_code code, std::string_view reason)> on_close;
  /// The send queue, once over drain_watermark, fell to it: the time to send more.
  std::function<void(client&)> on_drain;
  /// The connection never opened: bad address, refused, timed out, or a refused handshake.
  std::function<void(client&, const client_error& e)> on_error;
};

/// Parts of a ws:// or wss:// URL.
struct ws_url {
  /// True for wss://.
  bool secure = false;
  std::string host;  ///< without brackets for IPv6
  /// The URL's port, or 80 (ws://) and 443 (wss://).
  std::uint16_t port = 80;
  std::string target = "/";  ///< path and query
  /// Fills `out` from a ws:// or wss:// URL; false when it is not one.
  static bool parse(std::string_view url, ws_url& out);
  /// The Host header value: the host, bracketed for IPv6, with the port unless it is the default.
  std::string host_header() const;
};

/// One WebSocket client connection on an event loop it does not own. Every call is for the
/// loop's thread; failures to connect go to on_error, the end of an open connection to on_close.
class client {
 public:
  /// Prepares a client on `loop`; nothing happens until connect(). Throws std::runtime_error when
  /// the TLS options cannot be used.
  client(net::event_loop& loop, client_options opts, client_handlers handlers);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Starts connecting (loop thread). Failures are reported through on_error.
  void connect(std::string_view url);

  /// Sends one whole message; the result says whether it went out, was queued or refused.
  send_result send(std::string_view data, ws::opcode op = ws::opcode::text);
  /// As send(data, op), with permessage-deflate skipped for this message when `compress` is false.
  send_result send(std::string_view data, ws::opcode op, bool compress);
  /// One piece of a message; `op` of the first piece names its type, `fin` marks the last.
  send_result send_fragment(std::string_view data, ws::opcode op, bool fin);
  /// Sends a ping (at most 125 bytes of data); false when the connection cannot send.
  bool ping(std::string_view data = {});
  /// Starts the close handshake; on_close follows when the server answers or the timer ends.
  void close(ws::close_code code = ws::close_code::normal, std::string_view reason = {});
  /// Drops the TCP connection at once (on_close sees 1006).
  void terminate();

  /// True between on_open and the start of the close.
  bool is_open() const noexcept;
  /// Bytes queued for the server and not yet taken by the kernel.
  std::size_t buffered_amount() const noexcept;
  /// The subprotocol the server chose (empty if none).
  std::string_view subprotocol() const noexcept;
  /// The Sec-WebSocket-Extensions the server answered (empty if none).
  std::string_view extensions() const noexcept;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex
