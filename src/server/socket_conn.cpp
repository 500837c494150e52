#include "socket_conn.hpp"

#include "duplex/ws/close_code.hpp"
#include "server_state.hpp"

namespace duplex::detail {

socket_conn::socket_conn(loop_context& ctx, int fd)
    : net::stream(ctx.loop, fd),
      ctx_(ctx),
      http_(std::make_unique<http_state>(ctx.server.opts.http_limits)),
      ws_(ws::role::server, ctx.server.opts.ws_limits) {
  // The handshake deadline covers the TLS handshake too: it starts at accept.
  set_deadline(ctx_.after(ctx_.server.opts.handshake_timeout));
  if (auto tls = ctx.server.current_tls()) stream().use_tls(tls, true);
}

socket_conn::~socket_conn() {
  retire_token();  // a loop torn down frees its sockets without destroy()
  ctx_.wheel.cancel(timer_node());
}

// ---- readiness -------------------------------------------------------------------------

void socket_conn::on_io(net::io_events events) {
  if (phase_ == phase::dead) return;
  try {
    if (held_ && has(events, net::io_events::error | net::io_events::hangup)) {
      // Reset while its input was held (a paused body, an awaited answer): no read will
      // report it, and the error would wake the loop again and again.
      aborting_ = true;
      return destroy();
    }
    if (has(events, net::io_events::writable)) on_writable();
    if (phase_ != phase::dead && read_ready(events) && awaiting_proxy_header()) read_proxy_header();
    if (phase_ != phase::dead && read_ready(events) && !awaiting_proxy_header())
      stream().read(*this);
    if (phase_ != phase::dead) maybe_finish();
  } catch (...) {
    // The glue itself failed (no memory, an epoll_ctl refused): this socket's state cannot be
    // trusted any more, the loop's other sockets can.
    ctx_.loop.report_exception(std::current_exception());
    fail_internal();
  }
}

void socket_conn::on_stream_data(char* data, std::size_t n) {
  switch (phase_) {
    case phase::http:
      if (close_after_flush_) break;  // refused: what follows is read and dropped
      http_->reader.append({data, n});
      process_http();
      break;
    case phase::websocket:
      if (ws_.state() == ws::state::open) {
        set_deadline(ctx_.after(ctx_.server.opts.idle_timeout));
        ping_outstanding_ = false;
      }
      dispatch({data, n});
      break;
    default:
      break;  // draining: the peer's last bytes are read and dropped
  }
}

void socket_conn::on_stream_tls_error(std::string_view why) {
  ctx_.server.log("TLS error with " + remote_address() + ": " + std::string(why));
  on_stream_end();  // an open WebSocket still gets its on_close (1006)
}

void socket_conn::on_stream_end() {
  if (phase_ == phase::http && exchange_active()) {
    if (http_->body->reading) {
      abort_exchange(http::make_error_code(http::errc::body_truncated));
    } else if (!http_->body->ex->answered) {
      // The request is in and its answer awaited: the client may have half-closed to wait
      // for it (RFC 9112 section 9.6). The answer then goes out, and the connection ends.
      peer_done_ = true;
      held_ = true;
      stream().set_interest(false, stream().writing());
      return;
    }
  }
  if (phase_ == phase::http && !stream().drained() && !stream().broken()) {
    // RFC 9112 section 9.6: a client may half-close once its requests are sent and still read
    // the answers. They go out first, within the close timer; reading stops (nothing follows
    // a FIN, and a level-triggered EPOLLIN would report it again and again).
    peer_done_ = true;
    close_after_flush_ = true;
    set_deadline(ctx_.closing_deadline());
    stream().set_interest(false, true);
    return;
  }
  if (phase_ == phase::websocket) {
    // Also delivers a close the glue queued earlier (a full queue, a failed write), whose
    // on_close was deferred to this readiness.
    ws_.receive_eof();
    drain_events();
  }
  destroy();
}

void socket_conn::on_writable() {
  const std::size_t before = stream().queued();
  if (!stream().flush()) return;
  if (answers_held_ && phase_ == phase::http && stream().queued() < before)
    return release_answers();
  const std::size_t mark = ctx_.server.opts.drain_watermark;
  if (may_send() && before > mark && stream().queued() <= mark && route_->behavior.on_drain) {
    begin_cork();
    call_app([&] { route_->behavior.on_drain(*this); });
    end_cork();
  }
}

// ---- failures --------------------------------------------------------------------------

void socket_conn::on_app_exception() noexcept {
  try {
    if (may_send()) start_close(ws::to_int(ws::close_code::internal_error), "internal error");
  } catch (...) {
    fail_internal();
  }
}

void socket_conn::fail_internal() noexcept {
  if (phase_ == phase::dead) return;
  if (phase_ == phase::websocket && !close_reported_) ws_.abort(ws::errc::internal_error);
  stream().abandon();
  destroy();
}

// ---- closing ---------------------------------------------------------------------------

void socket_conn::close_after_flush() {
  close_after_flush_ = true;
  set_deadline(ctx_.closing_deadline());
}

void socket_conn::maybe_finish() {
  if (!close_after_flush_ || !stream().drained()) return;
  if (phase_ == phase::http || phase_ == phase::websocket) finish_close();
}

void socket_conn::finish_close() {
  // Orderly end: our close frame has gone, then TLS's close_notify, then TCP's FIN.
  // maybe_finish comes back once the queue drains.
  if (stream().close_notify() && !stream().drained()) return;
  // Half-close and read until the peer's FIN: closing with unread input would send a reset
  // that can destroy our last frame or response before the peer reads it.
  stream().shutdown_write();
  abort_exchange(std::make_error_code(std::errc::connection_aborted));
  phase_ = phase::draining;
  http_.reset();
  set_deadline(ctx_.closing_deadline());
  if (peer_done_) return destroy();  // its FIN came already: nothing more to wait for
  if (held_) {  // the closing phase reads until the FIN, whatever held the input before
    held_ = false;
    stream().set_interest(true, stream().writing());
  }
}

void socket_conn::on_timer(std::uint64_t now) noexcept {
  if (deadline_ == 0 || phase_ == phase::dead) return;
  if (deadline_ <= now) return on_deadline(now);
  try {
    ctx_.arm(timer_node(), deadline_);
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
    fail_internal();
  }
}

void socket_conn::on_deadline(std::uint64_t now) noexcept {
  try {
    expire(now);
  } catch (...) {
    // One socket's failure must not stop the wheel's turn for every socket after it.
    ctx_.loop.report_exception(std::current_exception());
    fail_internal();
  }
}

void socket_conn::expire(std::uint64_t now) {
  const auto& o = ctx_.server.opts;
  aborting_ = true;  // whatever this timer ends, it ends by giving up
  if (phase_ == phase::http && exchange_active() && http_->body->reading) return expire_body();
  if (phase_ == phase::http) {
    // Nothing sent (a browser's spare connection, a keep-alive between requests) is idle, not
    // slow: only a request left half-sent is worth a line.
    if (http_ && http_->reader.buffered() > 0)
      ctx_.server.log("handshake timeout for " + remote_address());
    return destroy();
  }
  if (phase_ != phase::websocket) return destroy();
  if (ws_.close_expected()) {
    ws_.abort(ws::errc::close_timeout);
    return drain_events();
  }
  if (ws_.done()) return destroy();
  if (!ping_outstanding_) {
    aborting_ = false;  // only a ping: the socket lives on
    ping_outstanding_ = true;
    set_deadline(
        o.pong_timeout.count() > 0 ? now + static_cast<std::uint64_t>(o.pong_timeout.count()) : 0);
    send_ping({});
    return;
  }
  ctx_.server.log("idle timeout for " + remote_address());
  start_close(ws::to_int(ws::close_code::going_away), "idle timeout");
}

void socket_conn::begin_shutdown() {
  if (phase_ == phase::http) return destroy();
  if (phase_ == phase::websocket && ws_.state() == ws::state::open)
    start_close(ws::to_int(ws::close_code::going_away), "server shutting down");
}

void socket_conn::force_close() {
  aborting_ = true;
  if (phase_ == phase::websocket && !ws_.done()) {
    ws_.abort(ws::errc::close_timeout);
    drain_events();
  }
  destroy();
}

// The one place that frees a socket.
void socket_conn::destroy() {
  if (phase_ == phase::dead) return;
  abort_exchange(std::make_error_code(std::errc::connection_aborted));
  if (phase_ == phase::websocket && !close_reported_) {
    stream().abandon();  // nothing more goes out: the socket is being torn down
    report_final_close();
    if (phase_ == phase::dead) return;  // on_close ended it already
  }
  topics_.clear(ctx_.topics, this);
  retire_token();
  // Given up on (a timeout, a full queue, a failure): bytes the peer never took are dropped
  // with a reset. Otherwise a plain close, so that a peer that half-closed (it may still be
  // reading) gets everything and a FIN.
  stream().close(stream().broken() || aborting_);
  phase_ = phase::dead;
  ctx_.wheel.cancel(timer_node());
  http_.reset();
  ctx_.unlink(this);
  ctx_.graveyard.push_back(this);
}

// ---- topics ----------------------------------------------------------------------------

bool socket_conn::subscribe(std::string_view name) {
  if (!may_send()) return false;
  return topics_.add(ctx_.topics, name, this);
}

bool socket_conn::unsubscribe(std::string_view name) {
  return topics_.remove(ctx_.topics, name, this);
}

}  // namespace duplex::detail
