#include "connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "duplex/core/base64.hpp"
#include "duplex/ws/close_code.hpp"
#include "duplex/ws/handshake.hpp"

namespace duplex {

client::impl::impl(client& owner, net::event_loop& loop, client_options opts, client_handlers h)
    : net::stream(loop, -1),
      owner_(owner),
      loop_(loop),
      opts_(std::move(opts)),
      h_(std::move(h)),
      resolver_(loop),
      dialer_(loop, opts_.attempt_delay) {}

void client::impl::arm(std::chrono::milliseconds d, void (impl::*what)()) {
  disarm();
  timer_ = loop_.add_timer(d, [this, what] {
    timer_ = 0;
    (this->*what)();
  });
}

void client::impl::disarm() {
  if (timer_ != 0) loop_.cancel_timer(timer_);
  timer_ = 0;
}

// The end of this connection, unless on_close started the next one (connect() in it).
void client::impl::end_connection() {
  if (phase_ != phase::open && phase_ != phase::draining && phase_ != phase::idle) return;
  close_stream();
  phase_ = phase::done;
}

void client::impl::close_stream() {
  disarm();
  stop_keepalive();
  stream().close(true);
}

// ---- readiness -------------------------------------------------------------------------

void client::impl::on_io(net::io_events events) {
  if (has(events, net::io_events::writable) && stream().is_open()) on_writable();
  if (read_ready(events) && stream().is_open()) stream().read(*this);
}

void client::impl::on_writable() {
  const std::size_t before = stream().queued();
  flush();
  const std::size_t mark = opts_.drain_watermark;
  if (phase_ == phase::open && before > mark && stream().queued() <= mark && ws_->can_send() &&
      h_.on_drain)
    call_app([&] { h_.on_drain(owner_); });
}

void client::impl::on_stream_data(char* data, std::size_t n) {
  if (phase_ == phase::proxying) {
    on_proxy_bytes(data, n);
  } else if (phase_ == phase::handshaking) {
    on_handshake_bytes(data, n);
  } else if (phase_ == phase::open) {
    last_input_ms_ = loop_.now_ms();
    dispatch({data, n});
  }
}

void client::impl::on_stream_tls_error(std::string_view why) {
  if (phase_ == phase::handshaking) return fail(client_errc::tls_failed, std::string(why));
  stream().fail();  // the next readiness reports the end, and on_close follows
}

void client::impl::on_stream_end() {
  if (phase_ == phase::proxying)
    return fail(client_errc::proxy_failed, "the proxy closed the connection before answering");
  if (phase_ == phase::handshaking)
    return fail(client_errc::closed_early, "connection closed during the handshake");
  if (phase_ == phase::open) {
    ws_->receive_eof();
    while (auto ev = ws_->next_event())
      handle(*ev);
  }
  end_connection();
}

// ---- WebSocket -------------------------------------------------------------------------

void client::impl::dispatch(std::span<char> bytes) {
  ws_->receive(bytes);
  while (phase_ == phase::open) {
    auto ev = ws_->next_event();
    if (!ev) break;
    handle(*ev);
  }
  flush();
}

void client::impl::handle(const ws::event& ev) {
  switch (ev.type) {
    case ws::event_type::fragment:
      if (h_.on_fragment) {
        call_app([&] { h_.on_fragment(owner_, ev.data, ev.op, ev.last); });
        break;
      }
      [[fallthrough]];  // without on_fragment, pieces go to on_message as before
    case ws::event_type::message:
      if (h_.on_message) call_app([&] { h_.on_message(owner_, ev.data, ev.op); });
      break;
    case ws::event_type::ping:
      if (h_.on_ping) call_app([&] { h_.on_ping(owner_, ev.data); });
      break;
    case ws::event_type::pong:
      if (h_.on_pong) call_app([&] { h_.on_pong(owner_, ev.data); });
      break;
    case ws::event_type::close:
      flush();
      phase_ = phase::draining;
      if (loop_.now_ms() - opened_ms_ >= static_cast<std::uint64_t>(opts_.reconnect.stable.count()))
        retries_ = 0;
      plan_retry(retryable(ev.code));
      if (h_.on_close)
        call_app([&] { h_.on_close(owner_, static_cast<ws::close_code>(ev.code), ev.data); });
      after_close();
      schedule_retry();
      break;
  }
}

// RFC 6455 section 7.1.1: the server closes TCP first; the client waits for that, but not forever.
void client::impl::after_close() {
  if (!stream().is_open()) return;
  // Close frames exchanged: TLS ends with close_notify, then we wait for TCP's end.
  stream().close_notify();
  arm(opts_.close_timeout, &impl::close_timed_out);
}

void client::impl::close_timed_out() {
  if (phase_ == phase::open) {  // our close frame was never answered
    ws_->abort(ws::errc::close_timeout);
    while (auto ev = ws_->next_event())
      handle(*ev);
  }
  end_connection();
}

// Our output to the stream, the stream's queue to the kernel; past the limit the connection is
// dropped, and the next readiness reports it.
void client::impl::flush() {
  if (!stream().is_open()) return;
  if (!ws_->pending_output().empty()) {
    stream().write(ws_->pending_output());
    ws_->clear_output();
  }
  if (!stream().flush()) return;
  if (stream().queued() > opts_.max_backpressure) {
    ws_->abort(ws::errc::send_queue_full);
    stream().fail();
  }
}

send_result client::impl::result() const noexcept {
  // Not drained(): that would send the loop's batch now, for every send.
  return {stream().queued() == 0 ? send_status::sent : send_status::buffered, stream().queued()};
}

send_result client::impl::send(std::string_view data, ws::opcode op, bool compress) {
  if (phase_ != phase::open || !ws_->send(op, data, compress))
    return {send_status::closed, stream().queued()};
  flush();
  return result();
}

send_result client::impl::send_fragment(std::string_view data, ws::opcode op, bool fin) {
  if (phase_ != phase::open || !ws_->send_fragment(op, data, fin))
    return {send_status::closed, stream().queued()};
  flush();
  return result();
}

bool client::impl::ping(std::string_view data) {
  if (phase_ != phase::open || !ws_->ping(data)) return false;
  flush();
  return true;
}

void client::impl::close(std::uint16_t code, std::string_view reason) {
  if (phase_ != phase::open) return abandon_attempt();
  if (!ws_->close(code, reason)) return;
  flush();
  arm(opts_.close_timeout, &impl::close_timed_out);
}

void client::impl::terminate() {
  if (phase_ != phase::open) return abandon_attempt();
  ws_->abort(ws::errc::connection_lost);
  close_stream();
  while (auto ev = ws_->next_event())
    handle(*ev);
  end_connection();
}

// close() or terminate() before the connection opened: the attempt stops, without a callback.
void client::impl::abandon_attempt() {
  if (phase_ == phase::open || phase_ == phase::draining) return;
  resolver_.cancel();
  dialer_.cancel();
  close_stream();
  phase_ = phase::done;
}

}  // namespace duplex
