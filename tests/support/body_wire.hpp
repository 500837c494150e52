// One loop of a server with body routes over a fake wire, for the request-body tests: the
// connection driven an iteration at a time, its answers read back as HTTP responses.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/server_state.hpp"
#include "server/socket_conn.hpp"
#include "support/fake_wire.hpp"

namespace duplex::test {

// The responses in `out`, each as its head and body (Content-Length framed), in order; what
// follows the last whole response stays in `out`.
struct wire_response {
  int status = 0;
  std::string head;
  std::string body;
};

inline std::vector<wire_response> take_responses(std::string& out) {
  std::vector<wire_response> got;
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end == std::string::npos) break;
    wire_response r;
    r.head = out.substr(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t length = 0;
    if (const auto at = r.head.find("Content-Length: "); at != std::string::npos)
      length = std::stoul(r.head.substr(at + 16));
    if (out.size() < end + 4 + length) break;
    r.body = out.substr(end + 4, length);
    out.erase(0, end + 4 + length);
    got.push_back(std::move(r));
  }
  return got;
}

struct body_wire {
  explicit body_wire(server_options o = {}) : state(quiet(std::move(o))), ctx(state, 0) {}
  static server_options quiet(server_options o) {
    if (!o.log) o.log = [](std::string_view) {};
    return o;
  }
  void buffered(std::string path, http_body_handler h, body_options o = {}) {
    auto r = std::make_unique<detail::body_route>();
    r->path = std::move(path);
    r->options = o;
    r->buffered = std::move(h);
    state.body_routes.push_back(std::move(r));
  }
  void streaming(std::string path, http_stream_behavior b) {
    auto r = std::make_unique<detail::body_route>();
    r->path = std::move(path);
    r->options = b.body;
    r->stream = std::move(b);
    r->streaming = true;
    state.body_routes.push_back(std::move(r));
  }
  void connect() { ctx.accept(wire.fd()); }
  // A few iterations: readiness, then the tasks it posted (a resume, a deferred answer).
  void step(int iterations = 3) {
    for (int i = 0; i < iterations; ++i) {
      ctx.loop.post([this] { ctx.loop.stop(); });
      ctx.loop.run();
    }
  }
  void send(std::string_view bytes) {
    wire.feed(bytes);
    step();
  }
  std::vector<wire_response> responses() {
    pending += wire.take_output();
    return take_responses(pending);
  }
  bool alive() const { return ctx.open != 0; }
  // The deadline sweep, as if the clock had passed every deadline.
  void expire_all() {
    ctx.sockets.for_each([](detail::socket_conn& c) {
      if (c.current_phase() != detail::phase::dead && c.deadline() != 0)
        c.on_deadline(c.deadline());
    });
    step();
  }

  fake_wire wire;  // first: it outlives the loop that closes its descriptor
  detail::server_state state;
  detail::loop_context ctx;
  std::string pending;
};

}  // namespace duplex::test
