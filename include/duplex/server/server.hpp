// duplex::server: WebSocket routes and plain HTTP on one port, one event loop per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/http/request.hpp"
#include "duplex/http/request_parser.hpp"
#include "duplex/net/event_loop.hpp"
#include "duplex/net/tls.hpp"
#include "duplex/server/http_exchange.hpp"
#include "duplex/server/http_response.hpp"
#include "duplex/server/websocket.hpp"
#include "duplex/ws/types.hpp"

namespace duplex {

namespace net {
class event_loop;
}

enum class backpressure_policy : std::uint8_t {
  close,  ///< a socket whose queue passes the limit is closed (1008, "send queue full")
  drop,   ///< a send that would pass the limit is dropped and reported as such
};

/// A request refused before routing: the status (0: not refused) and the text of the answer.
/// @brief A request refused before routing.
struct refusal {
  /// 0: not refused; else the HTTP status of the answer.
  int status = 0;
  /// The text of the answer, and of the log line.
  std::string reason;
};

/// Everything a server is configured with; set before constructing it.
struct server_options {
  /// The address to listen on ("0.0.0.0", "::", a host name, or "*" for every address).
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port; see server::port()
  unsigned threads = 1;    ///< event loops, each with its own SO_REUSEPORT listener
  /// With threads > 1 the loops share the port through SO_REUSEPORT, which another process of
  /// the same user could join, splitting the traffic without a word. Unless this is true,
  /// listen() refuses a port that something listens on already.
  bool share_port = false;
  /// Listen on a Unix-domain socket at this path instead of host:port (a reverse proxy on the
  /// same machine, ws+unix:// clients); port() is then 0. The file gets unix_mode; a stale one
  /// (nothing accepts on it) is removed first unless unlink_stale is false, and a live one makes
  /// listen() throw. The loops share the socket, and the file goes when the server does.
  std::string unix_path;
  unsigned unix_mode = 0660;  ///< permissions of the unix_path socket file: who may connect
  bool unlink_stale = true;   ///< remove a dead socket file left at unix_path

  /// Limits of a request head (size, target, header count).
  http::parser_limits http_limits{};
  /// Limits of what WebSocket clients send (message size, fragments).
  ws::limits ws_limits{};
  /// permessage-deflate (RFC 7692), off unless enabled. With context takeover each compressing
  /// socket holds about 300 KiB of zlib state; docs/limits.md has the measured figures.
  ws::deflate_options deflate{};
  /// TLS (wss:// and https://) when cert_file and key_file are set; the handshake timeout
  /// covers the TLS handshake, renegotiation is refused, and a close ends with close_notify.
  net::tls_options tls{};
  /// More certificates, chosen by the name the client asks for (SNI); the default one is
  /// tls.cert_file when set, else the first of these. SIGHUP (with handle_signals) or
  /// server::reload_certificates() reads every file again without closing any connection.
  std::vector<net::tls_certificate> certificates;

  /// Proxies in front of the server, as addresses or ranges ("10.0.0.0/8", "192.0.2.7",
  /// "fd00::/8"); an entry that is neither makes the constructor throw std::invalid_argument.
  /// Only a TCP peer in this list may say who the client is, by the means enabled below; what
  /// anyone else sends to that effect is never believed. The client so found is what
  /// upgrade_context::peer, websocket::remote_address() and http_exchange::peer() report.
  std::vector<std::string> trusted_proxies;
  /// A trusted peer must open each connection with a PROXY protocol v2 header (its LOCAL
  /// command keeps the peer's own address): without a valid one the connection is closed and
  /// logged. Other peers are not read for one, so a header from them is an invalid request.
  bool proxy_protocol = false;
  /// A request from a trusted peer names its client in Forwarded (RFC 7239) or else
  /// X-Forwarded-For, read from the right past every trusted hop: an upgrade for the socket's
  /// whole life, a request on a body route for that request alone.
  bool forwarded_headers = false;

  std::chrono::milliseconds handshake_timeout{10'000};  ///< whole request head, from accept
  std::chrono::milliseconds idle_timeout{120'000};      ///< no input for this long: send a ping
  std::chrono::milliseconds pong_timeout{30'000};       ///< no input after that ping: close 1001
  std::chrono::milliseconds close_timeout{5'000};       ///< close handshake, and shutdown
  /// Request bodies (http_body and http_stream routes): no body byte for body_idle_timeout, or
  /// the whole body not in within body_total_timeout of its head, is answered 408 and the
  /// connection closed. Time the handler keeps an exchange paused does not count. 0: no limit.
  std::chrono::milliseconds body_idle_timeout{10'000};
  std::chrono::milliseconds body_total_timeout{60'000};  ///< see body_idle_timeout
  std::chrono::milliseconds tick{250};                   ///< resolution of the timeouts above

  /// The loops' I/O backend; see net::io_backend (automatic: DUPLEX_IO, else epoll).
  net::io_backend io = net::io_backend::automatic;
  /// See net::loop_options::batch_sends: with epoll, an iteration's replies in one io_uring_enter.
  bool batch_sends = false;

  std::size_t max_backpressure = 16 * 1024 * 1024;  ///< send queue bytes per socket
  /// What happens to a socket whose send queue passes max_backpressure.
  backpressure_policy policy = backpressure_policy::close;
  std::size_t drain_watermark = 64 * 1024;  ///< on_drain fires when the queue falls to this

  /// Runs for every request head, plain or upgrade, before any route: a refusal is answered
  /// with its status and reason, and the connection is closed. For rules that hold for the
  /// whole server, such as the Host names it answers to (DNS rebinding).
  using filter_fn = std::function<refusal(const http::request&)>;
  /// See filter_fn above; empty: no filter.
  filter_fn request_filter;

  bool handle_signals = true;  ///< SIGINT/SIGTERM: close every socket with 1001, then return
  /// One line per refused request, failed connection or shutdown; default writes to stderr.
  std::function<void(std::string_view)> log;
  /// An exception thrown by a callback (a route's handler, a posted function, a timer) does not
  /// end run(): it is counted (server::exception_count), passed here (default: to `log`), and
  /// the socket whose callback threw is closed, with 1011 for a WebSocket and with 500 for a
  /// plain request or an upgrade hook.
  std::function<void(std::string_view what)> on_exception;
};

/// What an upgrade hook sees and decides, before the 101 is sent.
struct upgrade_context {
  /// The upgrade request (views valid during the hook).
  const http::request& request;
  std::string peer;                  ///< "127.0.0.1:40000" or "[::1]:40000"
  std::vector<std::string> offered;  ///< subprotocols the client offered, in its order
  std::string subprotocol;           ///< the one selected so far (may be changed to an offered one)
  websocket& socket;                 ///< attach per-socket data here: socket.emplace_data<T>(...)

  /// The value of one cookie of the request's Cookie headers, if present.
  std::optional<std::string_view> cookie(std::string_view name) const;
};

/// @brief A WebSocket route: what it accepts and the callbacks of its sockets, each optional.
/// Callbacks run on the socket's loop thread.
struct ws_behavior {
  /// Subprotocols this route speaks, preferred first: the first one the client offered is
  /// selected. No match means no Sec-WebSocket-Protocol in the answer (RFC 6455 section 4.2.2).
  std::vector<std::string> subprotocols;
  /// Origins allowed to open this route (exact match, e.g. "https://chat.example"); empty allows
  /// any. A request whose Origin is missing or not listed is refused with 403.
  std::vector<std::string> allowed_origins;
  /// Runs once the handshake is valid, before the 101: returns 0 to accept, or the HTTP status
  /// (401, 403...) that refuses it. The refusal is logged.
  std::function<int(upgrade_context&)> on_upgrade;
  /// The 101 was sent: the socket may send.
  std::function<void(websocket&)> on_open;
  /// A whole message; `data` is valid during the call only.
  std::function<void(websocket&, std::string_view data, ws::opcode op)> on_message;
  /// With ws_limits.stream_fragments, data arrives here in pieces instead of on_message.
  std::function<void(websocket&, std::string_view data, ws::opcode op, bool last)> on_fragment;
  /// A ping arrived (answered with a pong already).
  std::function<void(websocket&, std::string_view data)> on_ping;
  /// A pong arrived.
  std::function<void(websocket&, std::string_view data)> on_pong;
  /// The send queue, once over drain_watermark, fell to it: the time to send more.
  std::function<void(websocket&)> on_drain;
  /// Always called once for an opened socket; code 1006 when TCP ended without a close frame.
  std::function<void(websocket&, ws::close_code code, std::string_view reason)> on_close;
};

using http_handler = std::function<void(const http::request&, http_response&)>;

namespace detail {
struct server_state;
}

/// @brief The server: routes, one event loop per thread, timers and publishing.
/// Configure routes, then listen() and run(); the calls marked "any thread" are safe from others.
class server {
 public:
  /// Builds the server (nothing listens yet). Throws std::runtime_error when a TLS certificate
  /// cannot be used and std::invalid_argument for a bad trusted_proxies entry.
  explicit server(server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Routes match the request path exactly (query string ignored). Set before listen().
  server& ws(std::string path, ws_behavior behavior);
  /// A plain route answered at once; a request body (beyond an empty one) is refused with 413.
  server& http(std::string path, http_handler handler);
  /// A route that takes request bodies (any method), answered through an http_exchange, at once
  /// or later. An http() route of the same path is matched first; with options.prefix, the
  /// route takes every path that starts with `path`, the longest such prefix winning over
  /// shorter ones and an exact route over any prefix.
  server& http_body(std::string path, http_body_handler handler, body_options options = {});
  /// As http_body(), with the body handed to `behavior` in pieces as they arrive.
  server& http_stream(std::string path, http_stream_behavior behavior);
  /// For requests no route takes; the default answers 404. A plain GET on a WebSocket route is
  /// answered 426 (Upgrade: websocket) before any fallback sees it.
  server& fallback(http_handler handler);

  /// Binds every loop's listener; throws std::system_error on failure. From the thread that owns
  /// the server, before run(); calling it again does nothing.
  void listen();
  /// The port listened on (the chosen one when options.port was 0); 0 before listen().
  std::uint16_t port() const noexcept;
  /// Listens if needed, then runs every loop until shutdown() (or a signal) completes.
  void run();
  /// Any thread: stop accepting, close every WebSocket with 1001 and every HTTP connection, and
  /// make run() return once all are closed or close_timeout has passed.
  void shutdown();

  /// Any thread: sends to every subscriber of `topic` on every loop, framed once.
  void publish(std::string_view topic, std::string_view data, ws::opcode op = ws::opcode::text);
  /// Any thread: runs fn on loop i's thread. Work posted once run() has returned is never run.
  /// Before listen(), or with no such loop, it throws std::logic_error saying so.
  void post(unsigned loop, std::function<void()> fn);
  /// Timers on loop 0 (which the hub of an application usually lives on), from any thread once
  /// the server listens; before listen(), from the thread that owns the server (they call
  /// listen() then). `after` runs fn once, `every` each interval until run() returns; fn runs
  /// on loop 0's thread, and the delay counts from the loop's next iteration.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  /// Runs fn every `interval` on loop 0 until run() returns (see after()).
  void every(std::chrono::milliseconds interval, std::function<void()> fn);
  /// Any thread: loads the TLS certificates again from their files; handshakes that start after
  /// it returns true use the new ones, connections already open keep theirs. When a file cannot
  /// be used, the old certificates stay, the reason is logged, and it returns false.
  bool reload_certificates();
  /// The number of loops (threads), after listen().
  unsigned loop_count() const noexcept;
  /// Loop i itself (after listen(); std::logic_error otherwise), for code that registers its own
  /// descriptors and timers on it from that loop's thread: a database or Redis client driven by
  /// the same epoll.
  net::event_loop& loop(unsigned i);
  /// Open connections (HTTP and WebSocket) over all loops.
  std::size_t connection_count() const noexcept;
  /// Exceptions that callbacks let escape, over all loops, since listen().
  std::uint64_t exception_count() const noexcept;

 private:
  void add_timer(std::chrono::milliseconds delay, std::function<void()> fn, bool repeat);
  std::unique_ptr<detail::server_state> state_;
};

}  // namespace duplex
