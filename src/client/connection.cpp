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
      ws_(ws::role::client, opts_.ws_limits, &rng_) {}

void client::impl::connect(std::string_view url) {
  ws_url u;
  if (!ws_url::parse(url, u))
    return fail(client_errc::bad_url, "not a ws:// or wss:// URL: " + std::string(url));
  if (u.secure) {
    try {
      stream().use_tls(net::tls_context::client(opts_.tls), false, u.host);
    } catch (const std::exception& e) {
      return fail(client_errc::tls_setup, e.what());
    }
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  // Name resolution blocks the loop; numeric hosts resolve at once.
  if (::getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res) != 0 || !res)
    return fail(client_errc::resolve_failed, "cannot resolve " + u.host);
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
  const int err = errno;
  ::freeaddrinfo(res);
  stream().adopt(fd);
  if (fd < 0 || (rc != 0 && err != EINPROGRESS))
    return fail(client_errc::connect_failed, std::string("connect: ") + std::strerror(err));
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::array<std::byte, 16> raw{};
  rng_.fill(raw);
  key_ = core::base64_encode({reinterpret_cast<const char*>(raw.data()), raw.size()});
  std::string refused;
  request_ = ws::offer_request(u.host_header(), u.target, key_, opts_.subprotocols, opts_.deflate,
                               opts_.headers, refused);
  if (request_.empty())
    return fail(client_errc::header_not_allowed, "header not allowed: " + refused);
  phase_ = phase::connecting;
  stream().watch(false, true);
  arm(opts_.open_timeout, &impl::open_timed_out);
}

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

void client::impl::close_stream() {
  disarm();
  stream().close(true);
}

void client::impl::fail(client_errc code, std::string detail) {
  close_stream();
  phase_ = phase::done;
  if (h_.on_error) {
    const client_error e{code, std::move(detail)};
    call_app([&] { h_.on_error(owner_, e); });
  }
}

// A handler that throws is reported to the loop (counted, logged) and closes this connection
// with 1011; it does not unwind through the loop or leave the connection half handled.
template <class F>
void client::impl::call_app(F&& f) {
  try {
    f();
  } catch (...) {
    loop_.report_exception(std::current_exception());
    if (phase_ == phase::open && ws_.can_send())
      close(ws::to_int(ws::close_code::internal_error), "internal error");
  }
}

// ---- readiness -------------------------------------------------------------------------

void client::impl::on_io(net::io_events events) {
  if (phase_ == phase::connecting) {
    if (has(events, net::io_events::writable | net::io_events::error | net::io_events::hangup))
      on_connected();
    return;
  }
  if (has(events, net::io_events::writable) && stream().is_open()) on_writable();
  if (read_ready(events) && stream().is_open()) stream().read(*this);
}

void client::impl::on_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(stream().fd(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    return fail(client_errc::connect_failed, std::string("connect: ") + std::strerror(err));
  phase_ = phase::handshaking;
  stream().set_interest(true, false);
  if (stream().secure()) stream().start_tls();
  // With TLS the stream holds the request until its handshake is done.
  stream().write(std::exchange(request_, {}));
  flush();
}

void client::impl::on_writable() {
  const std::size_t before = stream().queued();
  flush();
  const std::size_t mark = opts_.drain_watermark;
  if (phase_ == phase::open && before > mark && stream().queued() <= mark && ws_.can_send() &&
      h_.on_drain)
    call_app([&] { h_.on_drain(owner_); });
}

void client::impl::on_stream_data(char* data, std::size_t n) {
  if (phase_ == phase::handshaking) {
    on_handshake_bytes(data, n);
  } else if (phase_ == phase::open) {
    dispatch({data, n});
  }
}

void client::impl::on_stream_tls_error(std::string_view why) {
  if (phase_ == phase::handshaking) return fail(client_errc::tls_failed, std::string(why));
  stream().fail();  // the next readiness reports the end, and on_close follows
}

void client::impl::on_stream_end() {
  if (phase_ == phase::handshaking)
    return fail(client_errc::closed_early, "connection closed during the handshake");
  if (phase_ == phase::open) {
    ws_.receive_eof();
    while (auto ev = ws_.next_event())
      handle(*ev);
  }
  close_stream();
  phase_ = phase::done;
}

// ---- handshake -------------------------------------------------------------------------

void client::impl::on_handshake_bytes(const char* data, std::size_t n) {
  head_.append(data, n);
  const auto st = parser_.parse(head_);
  if (st == http::response_parser::status::incomplete) return;
  if (st == http::response_parser::status::error)
    return fail(client_errc::bad_handshake,
                "malformed handshake response: " + parser_.error().message());
  client_error e;
  verify(parser_.response(), e);
  if (e.code) return fail(static_cast<client_errc>(e.code.value()), std::move(e.detail));
  open_with(head_.substr(parser_.head_size()));
}

// The answer is checked by the ws layer; what it agreed takes effect here.
void client::impl::verify(const http::response& res, client_error& e) {
  std::optional<ws::deflate_params> agreed;
  const auto ec = ws::check_response(res, key_, opts_.subprotocols, opts_.deflate, agreed);
  if (ec == ws::handshake_errc::not_switching_protocols) {
    e = {client_errc::refused,
         "server answered " + std::to_string(res.status) + " " + std::string(res.reason)};
    return;
  }
  if (ec) {
    e = {client_errc::bad_handshake, ec.message()};
    return;
  }
  if (agreed) {
    ws_.enable_deflate(*agreed, opts_.deflate.level, opts_.deflate.min_size);
    extensions_ = std::string(*res.find("Sec-WebSocket-Extensions"));
  }
  protocol_ = std::string(res.find("Sec-WebSocket-Protocol").value_or(""));
}

void client::impl::open_with(std::string leftover) {
  disarm();
  std::string().swap(head_);
  phase_ = phase::open;
  if (h_.on_open) call_app([&] { h_.on_open(owner_); });
  if (!leftover.empty() && phase_ == phase::open) dispatch(leftover);
}

// ---- WebSocket -------------------------------------------------------------------------

void client::impl::dispatch(std::span<char> bytes) {
  ws_.receive(bytes);
  while (phase_ == phase::open) {
    auto ev = ws_.next_event();
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
      if (h_.on_close)
        call_app([&] { h_.on_close(owner_, static_cast<ws::close_code>(ev.code), ev.data); });
      after_close();
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
    ws_.abort(ws::errc::close_timeout);
    while (auto ev = ws_.next_event())
      handle(*ev);
  }
  close_stream();
  phase_ = phase::done;
}

// Our output to the stream, the stream's queue to the kernel; past the limit the connection is
// dropped, and the next readiness reports it.
void client::impl::flush() {
  if (!stream().is_open()) return;
  if (!ws_.pending_output().empty()) {
    stream().write(ws_.pending_output());
    ws_.clear_output();
  }
  if (!stream().flush()) return;
  if (stream().queued() > opts_.max_backpressure) {
    ws_.abort(ws::errc::send_queue_full);
    stream().fail();
  }
}

send_result client::impl::result() const noexcept {
  return {stream().drained() ? send_status::sent : send_status::buffered, stream().queued()};
}

send_result client::impl::send(std::string_view data, ws::opcode op, bool compress) {
  if (phase_ != phase::open || !ws_.send(op, data, compress))
    return {send_status::closed, stream().queued()};
  flush();
  return result();
}

send_result client::impl::send_fragment(std::string_view data, ws::opcode op, bool fin) {
  if (phase_ != phase::open || !ws_.send_fragment(op, data, fin))
    return {send_status::closed, stream().queued()};
  flush();
  return result();
}

bool client::impl::ping(std::string_view data) {
  if (phase_ != phase::open || !ws_.ping(data)) return false;
  flush();
  return true;
}

void client::impl::close(std::uint16_t code, std::string_view reason) {
  if (phase_ != phase::open || !ws_.close(code, reason)) return;
  flush();
  arm(opts_.close_timeout, &impl::close_timed_out);
}

void client::impl::terminate() {
  if (phase_ == phase::open) {
    ws_.abort(ws::errc::connection_lost);
    close_stream();
    while (auto ev = ws_.next_event())
      handle(*ev);
  }
  close_stream();
  phase_ = phase::done;
}

}  // namespace duplex
