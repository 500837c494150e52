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

// Automatic reconnection: after a connection that ends without our asking, or an attempt that
// fails for a reason that may pass (refused TCP, a timeout, a 5xx answer, 1001/1006/1011-1014),
// the client waits and connects again. The waits grow from `initial` by `factor` up to `max`,
// each drawn at random from [wait * (1 - jitter), wait] so that many clients of one server do
// not come back at once. After max_attempts tries in a row it stops; only a connection that
// stayed open for `stable` starts the count (and the waits) again, so that a server which
// accepts and at once closes is not hammered forever. It never comes back
// after close() or terminate(), nor after a close code that says the client itself was at
// fault or was sent away for good (1000, 1002, 1003, 1007-1010, 4000-4999), nor after a
// refusal that would be repeated (a 4xx answer, a bad URL, an untrusted certificate).
struct reconnect_options {
  bool enabled = false;
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  double factor = 2.0;
  double jitter = 0.5;  // 0..1
  unsigned max_attempts = 10;
  std::chrono::milliseconds stable{10'000};
  // When set, decides instead of the list above whether a close code is worth coming back for.
  std::function<bool(ws::close_code)> after_close;
};

struct client_options {
  ws::limits ws_limits{};
  ws::deflate_options deflate{};                             // offered when enabled
  std::vector<std::string> subprotocols;                     // offered, preferred first
  std::vector<std::pair<std::string, std::string>> headers;  // Origin, Cookie, Authorization...
  // Name resolution, TCP connect and handshake together. Names are resolved on a worker thread;
  // every address is tried, IPv6 first, the next one started when the last fails or after
  // attempt_delay, and the first connected wins (happy eyeballs, RFC 8305).
  std::chrono::milliseconds open_timeout{10'000};
  std::chrono::milliseconds attempt_delay{250};
  std::chrono::milliseconds close_timeout{5'000};
  // Keepalive: after ping_interval without any input a ping goes out, and when nothing at all
  // (pong or otherwise) follows within pong_timeout the connection is given up: on_close with
  // 1001, as the server does with its idle sockets. 0 turns it off.
  std::chrono::milliseconds ping_interval{0};
  std::chrono::milliseconds pong_timeout{10'000};
  std::size_t max_backpressure = 16 * 1024 * 1024;  // past it, the connection is dropped
  std::size_t drain_watermark = 64 * 1024;          // on_drain fires when the queue falls to this
  reconnect_options reconnect{};
  // An HTTP proxy reached with CONNECT ("http://[user:password@]host:port"; the user and
  // password go as Basic Proxy-Authorization). wss:// keeps its TLS end to end, inside the
  // tunnel. With proxy_from_environment and no `proxy`, https_proxy (wss://) or http_proxy
  // (ws://) is used unless no_proxy exempts the host, each name also read in upper case.
  std::string proxy;
  bool proxy_from_environment = false;
  // Connect to this Unix-domain socket whatever the URL's host and port (which still make the
  // Host header and name the certificate); a ws+unix:// URL does the same. No proxy applies.
  std::string unix_socket;
  // wss://: the certificate chain and host name are verified against the system's trust
  // store, or `tls.ca_file`; `tls.verify = false` turns that off (test certificates only).
  net::tls_options tls{};
};

class client;

struct client_handlers {
  std::function<void(client&)> on_open;
  std::function<void(client&, std::string_view data, ws::opcode op)> on_message;
  // With ws_limits.stream_fragments, data arrives here in pieces, `last` on the final one.
  // Without this handler the pieces go to on_message.
  std::function<void(client&, std::string_view data, ws::opcode op, bool last)> on_fragment;
  std::function<void(client&, std::string_view data)> on_ping;
  std::function<void(client&, std::string_view data)> on_pong;
  // After on_open, always once: the code of the close, or 1006 if TCP ended without one.
  std::function<void(client&, ws::close_code code, std::string_view reason)> on_close;
  // The send queue, once over drain_watermark, fell to it: the time to send more.
  std::function<void(client&)> on_drain;
  // The connection never opened: bad address, refused, timed out, or a refused handshake.
  std::function<void(client&, const client_error& e)> on_error;
  // With reconnect enabled: after on_close or on_error, another attempt starts after `delay`;
  // `attempt` counts from 1 (see reconnect_options::stable). Without this call after on_close or
  // on_error, the client has stopped. On each open, client::reconnects() tells a first open (0)
  // from a re-open, the time to subscribe again.
  std::function<void(client&, unsigned attempt, std::chrono::milliseconds delay)> on_retry;
};

// Parts of a ws:// or wss:// URL, or of ws+unix:// and wss+unix://, which name a Unix-domain
// socket and then, after a colon, the target: "ws+unix:///run/app.sock:/chat?room=1" (host
// "localhost" for the Host header and the certificate).
struct ws_url {
  bool secure = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
  std::string unix_path;     // set for ws+unix:// and wss+unix://
  static bool parse(std::string_view url, ws_url& out);
  std::string host_header() const;
};

class client {
 public:
  client(net::event_loop& loop, client_options opts, client_handlers handlers);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Starts connecting (loop thread). Failures are reported through on_error. A retry that
  // waits is cancelled: the new URL is used from now on.
  void connect(std::string_view url);

  send_result send(std::string_view data, ws::opcode op = ws::opcode::text);
  send_result send(std::string_view data, ws::opcode op, bool compress);
  send_result send_fragment(std::string_view data, ws::opcode op, bool fin);
  bool ping(std::string_view data = {});
  // Both end automatic reconnection, and a retry that waits. Before the open they stop the
  // attempt (lookup, dial, handshake) without a callback.
  void close(ws::close_code code = ws::close_code::normal, std::string_view reason = {});
  void terminate();

  bool is_open() const noexcept;
  // Opens after the first one, by automatic reconnection or a new connect().
  unsigned reconnects() const noexcept;
  std::size_t buffered_amount() const noexcept;
  std::string_view subprotocol() const noexcept;
  std::string_view extensions() const noexcept;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex
