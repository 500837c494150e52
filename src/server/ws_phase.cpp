// The server's WebSocket phase: bytes to ws::connection, its events to the route's callbacks,
// and the one report of the end (on_close) whichever path ends the socket.
#include "duplex/ws/close_code.hpp"
#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex::detail {
namespace {

bool is_transport_error(std::error_code ec) {
  return ec == ws::errc::connection_lost || ec == ws::errc::close_timeout ||
         ec == ws::errc::send_queue_full || ec == ws::errc::internal_error;
}

}  // namespace

void socket_conn::dispatch(std::span<char> bytes) {
  begin_cork();
  ws_.receive(bytes);
  drain_events();
  end_cork();
}

void socket_conn::drain_events() {
  while (phase_ == phase::websocket) {
    auto ev = ws_.next_event();
    if (!ev) return;
    handle_event(*ev);
  }
}

void socket_conn::handle_event(const ws::event& ev) {
  const ws_behavior& b = route_->behavior;
  switch (ev.type) {
    case ws::event_type::message:
      if (b.on_message) call_app([&] { b.on_message(*this, ev.data, ev.op); });
      break;
    case ws::event_type::fragment:
      if (b.on_fragment) call_app([&] { b.on_fragment(*this, ev.data, ev.op, ev.last); });
      break;
    case ws::event_type::ping:
      if (b.on_ping) call_app([&] { b.on_ping(*this, ev.data); });
      break;
    case ws::event_type::pong:
      if (b.on_pong) call_app([&] { b.on_pong(*this, ev.data); });
      break;
    case ws::event_type::close:
      handle_close(ev);
      break;
  }
}

void socket_conn::handle_close(const ws::event& ev) {
  report_close(ev);
  if (is_transport_error(ev.error) || stream().broken()) {
    destroy();
    return;
  }
  // RFC 6455 section 7.1.1: after the close handshake the server closes TCP first. The close
  // timer bounds the whole of it: a peer that stops reading cannot hold the socket and its
  // queue any longer than that (not until the idle timeout, nor forever without one).
  close_after_flush();
  maybe_finish();
}

// on_close, exactly once per upgraded socket, whichever path ends it.
void socket_conn::report_close(const ws::event& ev) {
  if (close_reported_) return;
  close_reported_ = true;
  if (ev.error && ev.error != ws::errc::connection_lost) {
    try {  // the application's log must not cost the application its on_close
      ctx_.server.log("closing " + remote_address() + " with " + std::to_string(ev.code) + ": " +
                      ev.error.message());
    } catch (...) {
      ctx_.loop.report_exception(std::current_exception());
    }
  }
  topics_.clear(ctx_.topics, this);
  flush_output();  // the close reply goes out before on_close may free anything
  if (route_->behavior.on_close)
    call_app(
        [&] { route_->behavior.on_close(*this, static_cast<ws::close_code>(ev.code), ev.data); });
}

// A socket destroyed before its close was reported (a timer found it first, the glue failed):
// the close the protocol layer holds, or 1006, reaches the application now.
void socket_conn::report_final_close() noexcept {
  try {
    ws_.abort(ws::errc::connection_lost);  // a close already pending keeps its own code
    while (auto ev = ws_.next_event()) {
      if (ev->type == ws::event_type::close) return report_close(*ev);
    }
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
  }
  if (close_reported_) return;
  ws::event lost;
  lost.type = ws::event_type::close;
  lost.code = ws::to_int(ws::close_code::abnormal);
  lost.error = ws::errc::connection_lost;
  try {
    report_close(lost);
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
  }
}

}  // namespace duplex::detail
