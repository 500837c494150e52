// Internals of duplex::server: what the server shares over its loops, and what each loop holds
// (its sockets, topics and the buffers its sockets borrow).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../net/timer_wheel.hpp"
#include "client_address.hpp"
#include "duplex/net/event_loop.hpp"
#include "duplex/net/listener.hpp"
#include "duplex/net/send_queue.hpp"
#include "duplex/net/tls.hpp"
#include "duplex/server/server.hpp"
#include "exchange.hpp"
#include "publication.hpp"
#include "socket_slab.hpp"
#include "socket_token.hpp"
#include "topics.hpp"

namespace duplex::detail {

struct loop_context;
struct server_state;
class socket_conn;

struct route {
  std::string path;
  ws_behavior behavior;
};

struct loop_context {
  loop_context(server_state& s, unsigned i);
  ~loop_context();

  void accept(int fd);
  // Counts a socket open (from accept) and closed (from its destroy()).
  void link(socket_conn* c) noexcept;
  void unlink(socket_conn* c) noexcept;
  // Some socket not yet closed, or null (tests that hold one look at it through this).
  socket_conn* first_open() noexcept;
  // Arms a socket's deadline node for `at`, and the loop's timer for the wheel's next turn if
  // that comes sooner than the one set.
  void arm(net::wheel_node& n, std::uint64_t at);
  void turn_wheel();
  void schedule_wheel();
  void iteration_end();
  void begin_shutdown();
  // A publication to this loop's subscribers of `topic_name`: each gets the frame it can take
  // (plain, compressed once for its window, or compressed by its own compressor).
  void deliver(std::string_view topic_name, const publication& pub, socket_conn* except);
  // A deadline `d` from now on the loop's clock; 0 (none) for a zero or negative `d`.
  std::uint64_t after(std::chrono::milliseconds d) const noexcept;
  // The closing phase always ends: a close_timeout of 0 means at the next tick, never "no
  // limit" (as 0 means for the idle and handshake timeouts).
  std::uint64_t closing_deadline() const noexcept;

  server_state& server;
  unsigned index;
  net::event_loop loop;
  // Every socket deadline (handshake, body, idle and pong, closing), at server_options::tick
  // resolution. One loop timer stands for the wheel's next turn, and none while it is empty:
  // sockets without a deadline cost nothing over time.
  net::timer_wheel wheel;
  net::timer_id wheel_timer = 0;
  std::uint64_t wheel_wake = 0;  // when wheel_timer is due
  std::unique_ptr<net::listener> listener;
  slab<socket_conn> sockets;  // open ones, and closed ones until the iteration ends
  std::size_t open = 0;       // sockets not yet closed
  std::vector<socket_conn*> graveyard;
  std::vector<socket_conn*> deferred;  // sockets with broadcast frames to write at iteration end
  topic_map topics;
  std::string cork;     // output buffer lent to the socket whose callbacks are running
  std::string scratch;  // output buffer lent to a socket written from elsewhere
  bool shutting_down = false;
  // What socket handles post through; cleared when this loop goes (server.cpp).
  std::shared_ptr<loop_anchor> anchor = std::make_shared<loop_anchor>();
};

struct server_state {
  explicit server_state(server_options o);
  void log(std::string_view line) const;
  const route* find_ws(std::string_view path) const noexcept;
  // The body route for a path: exact first, then the longest prefix route; null if none.
  const body_route* find_body(std::string_view path) const noexcept;
  net::shared_bytes frame(std::string_view data, ws::opcode op) const;
  // Frames once (and compresses at most once per window) and delivers to every subscriber of
  // `topic`: at once on the calling loop (skipping `except`), through post on the others.
  void publish(std::string_view topic, std::string_view data, ws::opcode op, socket_conn* except);

  server_options opts;
  proxy_trust trusted{opts.trusted_proxies};
  std::vector<std::unique_ptr<route>> ws_routes;
  std::unordered_map<std::string, http_handler, string_hash, std::equal_to<>> http_routes;
  http_handler fallback;
  std::vector<std::unique_ptr<body_route>> body_routes;
  std::vector<std::unique_ptr<loop_context>> loops;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> shutting_down{false};
  std::uint16_t port = 0;
  // TLS: set when options name a certificate, replaced by a reload from any thread.
  std::shared_ptr<net::tls_context> current_tls() const;
  bool reload_tls();
  std::vector<net::tls_certificate> certificate_list() const;
  mutable std::mutex tls_mutex;
  std::shared_ptr<net::tls_context> tls;
};

}  // namespace duplex::detail
