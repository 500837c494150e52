// Internals of duplex::server: per-loop state and the per-socket glue between the kernel,
// the HTTP parser and ws::connection.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "duplex/http/request_parser.hpp"
#include "duplex/net/event_loop.hpp"
#include "duplex/net/listener.hpp"
#include "duplex/net/send_queue.hpp"
#include "duplex/net/tls.hpp"
#include "duplex/server/server.hpp"
#include "duplex/ws/connection.hpp"
#include "duplex/ws/handshake.hpp"

namespace duplex::detail {

struct loop_context;
struct server_state;
class socket_conn;

struct route {
  std::string path;
  ws_behavior behavior;
};

struct topic {
  std::string name;
  std::vector<socket_conn*> subscribers;
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

enum class phase : std::uint8_t {
  http,       // reading request heads (handshake or plain HTTP)
  websocket,  // upgraded; ws_ drives the protocol
  draining,   // our side is shut down; reading until the peer's FIN or the close timer
  dead,       // fd closed; freed at the end of the loop iteration
};

// Bytes held only while a request head is being read, freed once the socket upgrades.
struct http_state {
  explicit http_state(const http::parser_limits& l) : reader(l) {}
  http::request_reader reader;
};

class socket_conn final : public websocket, public net::io_handler {
 public:
  socket_conn(loop_context& ctx, int fd);
  ~socket_conn();

  void on_io(std::uint32_t events) override;
  void on_deadline(std::uint64_t now) noexcept;
  void begin_shutdown();
  void force_close();

  // Implementation of the websocket API.
  send_result send_message(std::string_view data, ws::opcode op, bool compress);
  send_result send_piece(std::string_view data, ws::opcode op, bool fin);
  bool send_ping(std::string_view data);
  void start_close(std::uint16_t code, std::string_view reason);
  void abort_now();
  bool deliver_shared(const net::shared_bytes& frame);
  void flush_deferred();
  std::size_t queued() const noexcept { return queue_.bytes() + ws_.held_bytes(); }
  ws::state ws_state() const noexcept { return ws_.state(); }
  bool subscribe(std::string_view name);
  bool unsubscribe(std::string_view name);
  bool subscribed(std::string_view name) const;
  const route* current_route() const noexcept { return route_; }
  std::string_view agreed_protocol() const noexcept { return protocol_; }
  loop_context& context() const noexcept { return ctx_; }
  int fd() const noexcept { return fd_; }
  phase current_phase() const noexcept { return phase_; }

  socket_conn* prev = nullptr;
  socket_conn* next = nullptr;
  std::uint64_t deadline = 0;  // ms on the loop's clock; 0: none

 private:
  void on_readable();
  void on_writable();
  void on_bytes(char* data, std::size_t n);
  void on_plain(char* data, std::size_t n);
  void emit(std::string_view plain);
  void emit_wire(std::string_view bytes);
  void on_eof();
  void process_http();
  refusal filter(const http::request& req);
  void handle_plain(const http::request& req);
  void upgrade(const http::request& req);
  int negotiate(const route& r, const http::request& req, const ws::upgrade_request& up);
  void respond_and_close(int status, std::string_view reason);
  void dispatch(std::span<char> bytes);
  void drain_events();
  void handle_event(const ws::event& ev);
  void handle_close(const ws::event& ev);
  void report_close(const ws::event& ev);
  void report_final_close() noexcept;
  template <class F>
  bool call_app(F&& f) noexcept;
  void on_app_exception() noexcept;
  void fail_internal() noexcept;
  void begin_cork() noexcept;
  void end_cork();
  void flush_output();
  void send_raw(std::string bytes);
  void queue_rest(std::string_view rest);
  void write_failed();
  bool over_limit(std::size_t extra) const noexcept;
  void check_backpressure();
  void want_write(bool on);
  void maybe_finish();
  void expire(std::uint64_t now);
  void finish_close();
  void destroy();
  void unsubscribe_all();
  send_result result(send_status s) const noexcept { return {s, queue_.bytes()}; }

  loop_context& ctx_;
  int fd_;
  phase phase_ = phase::http;
  bool corked_ = false;
  bool epollout_ = false;
  bool broken_ = false;
  bool close_after_flush_ = false;
  bool ping_outstanding_ = false;
  bool deferred_ = false;        // in ctx_.deferred: shared frames wait for the iteration's end
  bool close_reported_ = false;  // on_close has run (it runs once for every upgraded socket)
  bool aborting_ = false;        // ended by a timer or a limit: close with a reset if bytes wait
  bool peer_done_ = false;       // the peer half-closed while answers were still queued
  const route* route_ = nullptr;
  std::unique_ptr<http_state> http_;
  ws::connection ws_;
  net::send_queue queue_;
  std::vector<topic*> topics_;
  std::string protocol_;
  std::unique_ptr<net::tls_session> tls_;
  bool tls_closed_ = false;
};

struct loop_context {
  loop_context(server_state& s, unsigned i);
  ~loop_context();

  void accept(int fd);
  void link(socket_conn* c) noexcept;
  void unlink(socket_conn* c) noexcept;
  void sweep();
  void iteration_end();
  void begin_shutdown();
  void deliver(std::string_view topic_name, const net::shared_bytes& frame, socket_conn* except);

  server_state& server;
  unsigned index;
  net::event_loop loop;
  std::unique_ptr<net::listener> listener;
  socket_conn* head = nullptr;
  std::vector<socket_conn*> graveyard;
  std::vector<socket_conn*> deferred;  // sockets with broadcast frames to write at iteration end
  std::unordered_map<std::string, topic, string_hash, std::equal_to<>> topics;
  std::string cork;        // output buffer lent to the socket whose callbacks are running
  std::string scratch;     // output buffer lent to a socket written from elsewhere
  std::string tls_plain;   // decrypted bytes of the read being handled
  std::string tls_cipher;  // encrypted bytes of the write being made
  bool shutting_down = false;
};

struct server_state {
  explicit server_state(server_options o);
  void log(std::string_view line) const;
  const route* find_ws(std::string_view path) const noexcept;
  net::shared_bytes frame(std::string_view data, ws::opcode op) const;
  // Frames once and delivers to every subscriber of `topic`: at once on the calling loop
  // (skipping `except`), through post on the others.
  void publish(std::string_view topic, std::string_view data, ws::opcode op, socket_conn* except);

  server_options opts;
  std::vector<std::unique_ptr<route>> ws_routes;
  std::unordered_map<std::string, http_handler, string_hash, std::equal_to<>> http_routes;
  http_handler fallback;
  std::vector<std::unique_ptr<loop_context>> loops;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> shutting_down{false};
  std::uint16_t port = 0;
  std::shared_ptr<net::tls_context> tls;  // set when options name a certificate
};

}  // namespace duplex::detail
