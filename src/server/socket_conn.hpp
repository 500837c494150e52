// One accepted socket of the server: a phase machine (HTTP, WebSocket, draining) over a
// net::stream and a ws::connection. Its members are implemented by concern, one file each:
// socket_conn.cpp (readiness, closing, deadlines), http_phase.cpp, body_phase.cpp (request
// bodies and deferred answers), upgrade.cpp, ws_phase.cpp (events and the close report),
// output.cpp (sends, corking, broadcasts, backpressure).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "../net/stream.hpp"
#include "../net/timer_wheel.hpp"
#include "duplex/server/server.hpp"
#include "duplex/ws/connection.hpp"
#include "http_phase.hpp"
#include "server_state.hpp"
#include "socket_token.hpp"
#include "topics.hpp"

namespace duplex::detail {

enum class phase : std::uint8_t {
  http,       // reading request heads (handshake or plain HTTP)
  websocket,  // upgraded; ws_ drives the protocol
  draining,   // our side is shut down; reading until the peer's FIN or the close timer
  dead,       // fd closed; freed at the end of the loop iteration
};

// Its deadline's node in the loop's timer wheel is a base, not a member: the wheel hands the
// node back, and the socket is found from it without a pointer or an offset.
class socket_conn final : public websocket, private net::stream, private net::wheel_node {
 public:
  socket_conn(loop_context& ctx, int fd);
  ~socket_conn();

  // Registers the socket with its loop, for reading.
  void start() {
    expect_proxy_header();
    // A PROXY header is read with recv, exactly as long as it is: no input read ahead for it.
    stream().watch(true, false, !awaiting_proxy_header());
  }
  void on_io(net::io_events events) override;
  void on_deadline(std::uint64_t now) noexcept;
  // The wheel's turn for this socket's node came: its deadline is due, later (re-armed), or
  // none any more.
  void on_timer(std::uint64_t now) noexcept;
  static socket_conn& of(net::wheel_node& n) noexcept { return static_cast<socket_conn&>(n); }
  std::uint64_t deadline() const noexcept { return deadline_; }
  void begin_shutdown();
  void force_close();

  // What net::stream::read reports to.
  bool stream_reading() const noexcept { return phase_ != phase::dead && !held_; }
  void on_stream_data(char* data, std::size_t n);
  void on_stream_end();
  void on_stream_tls_error(std::string_view why);

  // Implementation of the http_exchange API (body_phase.cpp), for the exchange in progress.
  void answer(const http_response& res);
  void pause_body();
  void resume_body();

  // Implementation of the websocket API (output.cpp).
  send_result send_message(std::string_view data, ws::opcode op, bool compress);
  send_result send_piece(std::string_view data, ws::opcode op, bool fin);
  bool send_ping(std::string_view data);
  void start_close(std::uint16_t code, std::string_view reason);
  void abort_now();
  bool deliver_shared(const net::shared_bytes& frame);
  void flush_deferred();
  std::size_t queued() const noexcept { return stream().queued() + ws_.held_bytes(); }
  ws::state ws_state() const noexcept { return ws_.state(); }
  bool compresses() const noexcept { return ws_.compresses(); }
  int shared_deflate_bits() const noexcept { return ws_.shared_deflate_bits(); }
  bool subscribe(std::string_view name);
  bool unsubscribe(std::string_view name);
  bool subscribed(std::string_view name) const { return topics_.contains(name); }
  const route* current_route() const noexcept { return route_; }
  std::string_view agreed_protocol() const noexcept {
    return rare_ ? std::string_view(rare_->protocol) : std::string_view();
  }
  loop_context& context() const noexcept { return ctx_; }
  int fd() const noexcept { return stream().fd(); }
  phase current_phase() const noexcept { return phase_; }
  // edge.cpp: the client as a trusted proxy reported it (PROXY header, forwarded headers of
  // the upgrade), or null when the TCP peer is the client.
  const std::string* reported_client() const noexcept;
  // socket_handle.cpp: the token handles hold (made on first use), and its end.
  std::shared_ptr<socket_token> token();
  void retire_token() noexcept;

 private:
  net::stream& stream() noexcept { return *this; }
  const net::stream& stream() const noexcept { return *this; }
  // The one answer to "may anything of the application's go out now?" (a message, a fragment,
  // a ping, a subscription, on_drain): every send and the callbacks that invite one ask it.
  bool may_send() const noexcept {
    return phase_ == phase::websocket && !stream().broken() && ws_.can_send();
  }
  // Whether anything at all may still be written (a close frame, a pong, an HTTP answer).
  bool writable() const noexcept { return phase_ != phase::dead && !stream().broken(); }

  net::wheel_node& timer_node() noexcept { return *this; }
  // ms on the loop's clock; 0: none (the node leaves the wheel, so the loop need not wake).
  // Lazy: a later deadline (a message received) only stores the time, and the node's present
  // turn re-arms it; only an earlier one moves the node.
  void set_deadline(std::uint64_t at) {
    deadline_ = at;
    if (at == 0) return ctx_.wheel.cancel(timer_node());
    if (ctx_.wheel.earlier(timer_node(), at)) ctx_.arm(timer_node(), at);
  }

  // socket_conn.cpp
  void on_writable();
  template <class F>
  bool call_app(F&& f) noexcept;
  void on_app_exception() noexcept;
  void fail_internal() noexcept;
  void maybe_finish();
  void expire(std::uint64_t now);
  void finish_close();
  void close_after_flush();
  void destroy();
  // edge.cpp
  void expect_proxy_header();
  bool awaiting_proxy_header() const noexcept { return rare_ && rare_->awaiting; }
  void read_proxy_header();
  std::optional<std::string> forwarded_by_trusted(const http::request& req) const;
  void adopt_forwarded(const http::request& req);
  std::string request_client(const http::request& req) const;
  // http_phase.cpp
  void process_http();
  refusal filter(const http::request& req);
  void handle_plain(const http::request& req);
  void respond_and_close(int status, std::string_view reason);
  bool answers_over_limit(bool more_asked);
  void release_answers();
  // body_phase.cpp
  const body_route* body_route_for(const http::request& req) const;
  bool exchange_active() const noexcept { return http_ && http_->body && http_->body->ex; }
  void begin_exchange(const body_route& r, const http::request& req);
  void open_body(body_state& b);
  bool advance_exchange();
  bool read_body();
  void deliver_piece(std::string_view piece);
  void end_body();
  void fail_body(std::error_code ec);
  void end_exchange() noexcept;
  void abort_exchange(std::error_code why) noexcept;
  template <class F>
  bool call_route(F&& f);
  void route_failed();
  bool can_discard(const body_state& b) const noexcept;
  void update_input();
  void kick();
  void continue_http() noexcept;
  std::uint64_t body_deadline() const noexcept;
  void expire_body();
  // upgrade.cpp
  void upgrade(const http::request& req);
  // ws_phase.cpp
  void dispatch(std::span<char> bytes);
  void drain_events();
  void handle_event(const ws::event& ev);
  void handle_close(const ws::event& ev);
  void report_close(const ws::event& ev);
  void report_final_close() noexcept;
  // output.cpp
  void begin_cork() noexcept;
  void end_cork();
  void flush_output();
  void emit(std::string_view plain);
  bool over_limit(std::size_t extra) const noexcept;
  void check_backpressure();
  send_result result(send_status s) const noexcept { return {s, stream().queued()}; }

  loop_context& ctx_;
  // One word for the deadline (ms on the loop's clock: 47 bits last 4,400 years), the phase
  // and the flags (one bit beside the deadline, where a bool fits in the word's sixth byte).
  std::uint64_t deadline_ : 47 = 0;
  bool answers_held_ : 1 = false;  // reading stopped until a large answer drains
  phase phase_ : 8 = phase::http;
  bool corked_ : 1 = false;
  bool close_after_flush_ : 1 = false;
  bool ping_outstanding_ : 1 = false;
  bool deferred_ : 1 = false;        // in ctx_.deferred: shared frames wait for the iteration's end
  bool close_reported_ : 1 = false;  // on_close has run (it runs once for every upgraded socket)
  bool aborting_ : 1 = false;   // ended by a timer or a limit: close with a reset if bytes wait
  bool peer_done_ : 1 = false;  // the peer half-closed while answers were still queued
  bool held_ : 1 = false;       // reading stopped: a paused body, or an answer awaited
  const route* route_ = nullptr;
  std::unique_ptr<http_state> http_;
  ws::connection ws_;
  topic_set topics_;
  // What few sockets need, out of line so that the common socket does not pay for it: the
  // agreed subprotocol, what trusted proxies in front said, and the token of handle().
  struct rare_state {
    std::string protocol;  // empty: none agreed
    std::string header;    // the PROXY header's bytes so far
    std::string client;    // empty: the TCP peer is the client
    std::optional<ip_address> client_ip;
    std::shared_ptr<socket_token> token;  // only once handle() was called
    bool awaiting = false;
  };
  rare_state& rare() {
    if (!rare_) rare_ = std::make_unique<rare_state>();
    return *rare_;
  }
  std::unique_ptr<rare_state> rare_;
};

// Application callbacks run through here: one that throws is reported like any exception on
// the loop, and its socket is closed with 1011 instead of the process ending.
template <class F>
bool socket_conn::call_app(F&& f) noexcept {
  try {
    f();
    return true;
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
    on_app_exception();
    return false;
  }
}

}  // namespace duplex::detail
