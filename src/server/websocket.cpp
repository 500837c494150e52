#include "duplex/server/websocket.hpp"

#include <sys/socket.h>

#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex {
namespace {

detail::socket_conn& self(websocket* w) {
  return static_cast<detail::socket_conn&>(*w);
}
const detail::socket_conn& self(const websocket* w) {
  return static_cast<const detail::socket_conn&>(*w);
}

// The calls that change the socket: only from its loop's thread (std::logic_error otherwise).
detail::socket_conn& owned(websocket* w, const char* call) {
  auto& c = self(w);
  c.context().loop.expect_owner(call);
  return c;
}

}  // namespace

send_result websocket::send(std::string_view data, ws::opcode op) {
  return owned(this, "websocket::send").send_message(data, op, true);
}

send_result websocket::send(std::string_view data, ws::opcode op, bool compress) {
  return owned(this, "websocket::send").send_message(data, op, compress);
}

send_result websocket::send_fragment(std::string_view data, ws::opcode op, bool fin) {
  return owned(this, "websocket::send_fragment").send_piece(data, op, fin);
}

bool websocket::ping(std::string_view data) {
  return owned(this, "websocket::ping").send_ping(data);
}
void websocket::close(ws::close_code code, std::string_view reason) {
  owned(this, "websocket::close").start_close(ws::to_int(code), reason);
}
void websocket::terminate() {
  owned(this, "websocket::terminate").abort_now();
}
std::size_t websocket::buffered_amount() const noexcept {
  return self(this).queued();
}
ws::state websocket::state() const noexcept {
  return self(this).ws_state();
}

bool websocket::subscribe(std::string_view topic) {
  return owned(this, "websocket::subscribe").subscribe(topic);
}
bool websocket::unsubscribe(std::string_view topic) {
  return owned(this, "websocket::unsubscribe").unsubscribe(topic);
}
bool websocket::is_subscribed(std::string_view topic) const {
  return self(this).subscribed(topic);
}

void websocket::publish(std::string_view topic, std::string_view data, ws::opcode op) {
  auto& me = owned(this, "websocket::publish");
  me.context().server.publish(topic, data, op, &me);
}

std::string_view websocket::path() const noexcept {
  const auto* r = self(this).current_route();
  return r ? std::string_view(r->path) : std::string_view{};
}

std::string_view websocket::subprotocol() const noexcept {
  return self(this).agreed_protocol();
}

std::string websocket::remote_address() const {
  if (const std::string* client = self(this).reported_client()) return *client;
  net::address a;
  a.length = sizeof a.storage;
  const int fd = self(this).fd();
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
    return "?";
  return a.to_string();
}

net::event_loop& websocket::loop() const noexcept {
  return self(this).context().loop;
}

}  // namespace duplex
