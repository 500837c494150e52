#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "../net/io_calls.hpp"
#include "detail.hpp"
#include "duplex/ws/close_code.hpp"
#include "duplex/ws/handshake.hpp"

namespace duplex::detail {
namespace {

// Payloads this large skip the output buffer: header and payload go out in one writev.
constexpr std::size_t writev_threshold = 16 * 1024;

std::uint64_t after(const loop_context& ctx, std::chrono::milliseconds d) {
  return d.count() <= 0 ? 0 : ctx.loop.now_ms() + static_cast<std::uint64_t>(d.count());
}

// The closing phase always ends: a close_timeout of 0 means at the next tick, never "no limit"
// (as 0 means for the idle and handshake timeouts).
std::uint64_t closing_deadline(const loop_context& ctx) {
  return after(ctx, std::max(ctx.server.opts.close_timeout, std::chrono::milliseconds(1)));
}

bool is_transport_error(std::error_code ec) {
  return ec == ws::errc::connection_lost || ec == ws::errc::close_timeout ||
         ec == ws::errc::send_queue_full || ec == ws::errc::internal_error;
}

}  // namespace

socket_conn::socket_conn(loop_context& ctx, int fd)
    : ctx_(ctx),
      fd_(fd),
      http_(std::make_unique<http_state>(ctx.server.opts.http_limits)),
      ws_(ws::role::server, ctx.server.opts.ws_limits) {
  // The handshake deadline covers the TLS handshake too: it starts at accept.
  deadline = after(ctx_, ctx_.server.opts.handshake_timeout);
  if (ctx.server.tls) tls_ = std::make_unique<net::tls_session>(ctx.server.tls, true);
}

socket_conn::~socket_conn() {
  if (fd_ >= 0) ::close(fd_);
}

// ---- readiness -------------------------------------------------------------------------

void socket_conn::on_io(std::uint32_t events) {
  if (phase_ == phase::dead) return;
  try {
    if (events & EPOLLOUT) on_writable();
    if (phase_ != phase::dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable();
    if (phase_ != phase::dead) maybe_finish();
  } catch (...) {
    // The glue itself failed (no memory, an epoll_ctl refused): this socket's state cannot be
    // trusted any more, the loop's other sockets can.
    ctx_.loop.report_exception(std::current_exception());
    fail_internal();
  }
}

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

void socket_conn::on_app_exception() noexcept {
  try {
    if (phase_ == phase::websocket && ws_.can_send())
      start_close(ws::close_code::internal_error, "internal error");
  } catch (...) {
    fail_internal();
  }
}

void socket_conn::fail_internal() noexcept {
  if (phase_ == phase::dead) return;
  if (phase_ == phase::websocket && !close_reported_) ws_.abort(ws::errc::internal_error);
  broken_ = true;
  destroy();
}

void socket_conn::on_readable() {
  const std::span<char> buf = ctx_.loop.receive_buffer();
  // A few reads per wake-up at most, so one busy socket cannot starve the others.
  for (int i = 0; i < 4 && phase_ != phase::dead; ++i) {
    const ssize_t n = net::sys::recv(fd_, buf.data(), buf.size(), 0);
    if (n > 0) {
      on_bytes(buf.data(), static_cast<std::size_t>(n));
      // A short read means the kernel had no more: skip the recv that would say EAGAIN.
      if (static_cast<std::size_t>(n) < buf.size()) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    on_eof();
    return;
  }
}

void socket_conn::on_bytes(char* data, std::size_t n) {
  if (!tls_) return on_plain(data, n);
  std::string& plain = ctx_.tls_plain;
  plain.clear();
  std::string cipher;
  const bool ok = tls_->receive({data, n}, plain, cipher);
  emit_wire(cipher);  // handshake records and alerts
  if (!ok) {
    ctx_.server.log("TLS error with " + remote_address() + ": " + tls_->error());
    return on_eof();  // an open WebSocket still gets its on_close (1006)
  }
  if (!plain.empty()) on_plain(plain.data(), plain.size());
  // The peer's close_notify: it sends nothing more, as a FIN would say (a TLS stack that does
  // not also close TCP would otherwise keep the socket, and its on_close, waiting).
  if (tls_->peer_closed() && phase_ != phase::dead) on_eof();
}

void socket_conn::on_plain(char* data, std::size_t n) {
  switch (phase_) {
    case phase::http:
      if (close_after_flush_) break;  // refused: what follows is read and dropped
      http_->reader.append({data, n});
      process_http();
      break;
    case phase::websocket:
      if (ws_.state() == ws::state::open) {
        deadline = after(ctx_, ctx_.server.opts.idle_timeout);
        ping_outstanding_ = false;
      }
      dispatch({data, n});
      break;
    default:
      break;  // draining: the peer's last bytes are read and dropped
  }
}

void socket_conn::on_eof() {
  if (phase_ == phase::http && !queue_.empty() && !broken_) {
    // RFC 9112 section 9.6: a client may half-close once its requests are sent and still read
    // the answers. They go out first, within the close timer; reading stops (nothing follows
    // a FIN, and a level-triggered EPOLLIN would report it again and again).
    peer_done_ = true;
    close_after_flush_ = true;
    deadline = closing_deadline(ctx_);
    ctx_.loop.modify(fd_, EPOLLOUT, this);
    epollout_ = true;
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
  const std::size_t before = queue_.bytes();
  const net::write_result w = queue_.flush(fd_);
  if (w.error) {
    write_failed();
    return;
  }
  if (queue_.empty()) want_write(false);
  const std::size_t mark = ctx_.server.opts.drain_watermark;
  if (phase_ == phase::websocket && before > mark && queue_.bytes() <= mark && ws_.can_send() &&
      route_->behavior.on_drain) {
    begin_cork();
    call_app([&] { route_->behavior.on_drain(*this); });
    end_cork();
  }
}

// ---- HTTP phase ------------------------------------------------------------------------

void socket_conn::process_http() {
  while (phase_ == phase::http && !close_after_flush_) {
    const auto st = http_->reader.parse();
    if (st == http::request_reader::status::incomplete) return;
    if (st == http::request_reader::status::error) {
      const auto ec = http_->reader.error();
      respond_and_close(http::status_for(static_cast<http::errc>(ec.value())), ec.message());
      return;
    }
    const http::request& req = http_->reader.request();
    if (const auto no = filter(req); no.status != 0) return respond_and_close(no.status, no.reason);
    if (ws::is_upgrade_attempt(req)) {
      upgrade(req);
      return;
    }
    handle_plain(req);
    if (phase_ != phase::http) return;
    // A client that pipelines requests and never reads the answers gets no unbounded queue.
    if (queue_.bytes() > ctx_.server.opts.max_backpressure) {
      ctx_.server.log("closing " + remote_address() + ": unread HTTP responses over the limit");
      aborting_ = true;
      return destroy();
    }
    // The next pipelined head is parsed from where this one ends: the reader drops consumed
    // bytes once per read, not once per request, which made a pipelined read quadratic.
    http_->reader.consume();
  }
}

// The application's filter sees every request head before any route does.
refusal socket_conn::filter(const http::request& req) {
  const auto& f = ctx_.server.opts.request_filter;
  if (!f) return {};
  try {
    return f(req);
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
    return {500, "the request filter failed"};
  }
}

void socket_conn::respond_and_close(int status, std::string_view reason) {
  ctx_.server.log("refused request from " + remote_address() + ": " + std::to_string(status) + " " +
                  std::string(reason));
  send_raw(ws::reject_response(status, reason));
  close_after_flush_ = true;
  // A peer that does not read its answer holds the socket no longer than a close would.
  deadline = closing_deadline(ctx_);
}

void socket_conn::handle_plain(const http::request& req) {
  if (const auto no = http::check_without_body(req); no.status != 0)
    return respond_and_close(no.status, no.reason);
  const bool keep_alive = http::keeps_alive(req);
  http_response res;
  const auto& s = ctx_.server;
  bool ok = true;
  try {
    if (auto it = s.http_routes.find(req.path()); it != s.http_routes.end()) {
      it->second(req, res);
    } else if (s.find_ws(req.path()) != nullptr) {
      // RFC 9110 section 15.5.22: name the protocol the resource needs. Before the fallback,
      // so that an application's catch-all (a file server) does not answer 404 here.
      res.status(426).header("Upgrade", "websocket").header("Sec-WebSocket-Version", "13");
      res.body("this endpoint speaks WebSocket\n");
    } else {
      s.fallback(req, res);
    }
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
    ok = false;
  }
  if (!ok) return respond_and_close(500, "the request handler failed");
  send_raw(res.serialize(keep_alive, req.method == "HEAD"));
  if (!keep_alive || res.wants_close()) {
    close_after_flush_ = true;
    deadline = closing_deadline(ctx_);
    return;
  }
  deadline = after(ctx_, s.opts.handshake_timeout);
}

void socket_conn::upgrade(const http::request& req) {
  const route* r = ctx_.server.find_ws(req.path());
  if (r == nullptr) return respond_and_close(404, "no WebSocket endpoint at this path");
  ws::upgrade_request up;
  if (const auto ec = ws::validate_upgrade(req, up)) {
    const auto e = static_cast<ws::handshake_errc>(ec.value());
    return respond_and_close(ws::status_for(e), ec.message());
  }
  if (const int status = negotiate(*r, req, up); status != 0)
    return respond_and_close(status,
                             status == 403 ? "origin not allowed" : "refused by the application");
  std::string extensions;
  if (!up.extensions.empty()) {
    if (auto agreed = ws::negotiate_deflate(up.extensions, ctx_.server.opts.deflate)) {
      extensions = std::move(agreed->response);
      ws_.enable_deflate(agreed->params, ctx_.server.opts.deflate.level,
                         ctx_.server.opts.deflate.min_size);
    }
  }
  std::string response = ws::accept_response(up.key, protocol_, extensions);
  std::string leftover(http_->reader.after_head());
  route_ = r;
  http_.reset();
  phase_ = phase::websocket;
  deadline = after(ctx_, ctx_.server.opts.idle_timeout);
  send_raw(std::move(response));
  if (route_->behavior.on_open) {
    begin_cork();
    call_app([&] { route_->behavior.on_open(*this); });
    end_cork();
  }
  // RFC 6455 section 4.1: frames may follow the handshake in the same segment; keep them.
  if (!leftover.empty() && phase_ == phase::websocket) dispatch(leftover);
}

// Origin allow-list, subprotocol selection and the application's hook; 0 accepts.
int socket_conn::negotiate(const route& r, const http::request& req,
                           const ws::upgrade_request& up) {
  const auto& b = r.behavior;
  if (!ws::origin_allowed(b.allowed_origins, up.origin)) return 403;
  const std::string_view chosen = ws::choose_subprotocol(b.subprotocols, up.protocols);
  if (!b.on_upgrade) {
    protocol_ = chosen;
    return 0;
  }
  // Only a hook pays for the peer's address and an owned copy of the offers.
  upgrade_context ctx{req,
                      remote_address(),
                      {up.protocols.begin(), up.protocols.end()},
                      std::string(chosen),
                      *this};
  int status = 500;
  try {
    status = b.on_upgrade(ctx);
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
  }
  if (status != 0) return status;
  // RFC 6455 section 4.2.2: only a protocol the client offered may be answered.
  if (!ws::may_answer_subprotocol(ctx.offered, ctx.subprotocol)) {
    ctx_.server.log("upgrade hook chose subprotocol '" + ctx.subprotocol +
                    "' that was not offered");
    return 500;
  }
  protocol_ = std::move(ctx.subprotocol);
  return 0;
}

// ---- WebSocket phase -------------------------------------------------------------------

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
  if (is_transport_error(ev.error) || broken_) {
    destroy();
    return;
  }
  // RFC 6455 section 7.1.1: after the close handshake the server closes TCP first. The close
  // timer bounds the whole of it: a peer that stops reading cannot hold the socket and its
  // queue any longer than that (not until the idle timeout, nor forever without one).
  close_after_flush_ = true;
  deadline = closing_deadline(ctx_);
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
  unsubscribe_all();
  flush_output();  // the close reply goes out before on_close may free anything
  if (route_->behavior.on_close)
    call_app([&] { route_->behavior.on_close(*this, ev.code, ev.data); });
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
  lost.code = ws::close_code::abnormal;
  lost.error = ws::errc::connection_lost;
  try {
    report_close(lost);
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
  }
}

// ---- output ----------------------------------------------------------------------------

void socket_conn::begin_cork() noexcept {
  if (corked_ || ctx_.cork.capacity() == 0 || !ws_.pending_output().empty()) return;
  std::swap(ws_.output_buffer(), ctx_.cork);
  corked_ = true;
}

void socket_conn::end_cork() {
  if (!corked_) {
    flush_output();
    return;
  }
  flush_output();
  std::swap(ws_.output_buffer(), ctx_.cork);
  corked_ = false;
}

void socket_conn::flush_output() {
  std::string& out = ws_.output_buffer();
  if (out.empty()) return;
  if (broken_ || phase_ == phase::dead) {
    out.clear();
    return;
  }
  emit(out);
  out.clear();
  if (!corked_ && out.capacity() > 4096) std::string().swap(out);
  check_backpressure();
}

void socket_conn::send_raw(std::string bytes) {
  if (broken_ || phase_ == phase::dead) return;
  emit(bytes);
}

// Every plaintext byte leaves through here: encrypted first when the socket speaks TLS.
void socket_conn::emit(std::string_view plain) {
  if (!tls_) return emit_wire(plain);
  std::string& cipher = ctx_.tls_cipher;  // emit never re-enters, so the loop's buffer serves
  cipher.clear();
  if (!tls_->send(plain, cipher)) {
    ctx_.server.log("TLS error with " + remote_address() + ": " + tls_->error());
    return write_failed();
  }
  emit_wire(cipher);
}

// Bytes for the wire: written at once if nothing waits before them, the rest queued.
void socket_conn::emit_wire(std::string_view bytes) {
  if (broken_ || phase_ == phase::dead || bytes.empty()) return;
  std::size_t written = 0;
  if (queue_.empty()) {
    const net::write_result w = net::write_bytes(fd_, bytes);
    if (w.error) return write_failed();
    written = w.written;
  }
  if (written < bytes.size()) queue_rest(bytes.substr(written));
}

void socket_conn::queue_rest(std::string_view rest) {
  queue_.push(rest);
  want_write(true);
}

void socket_conn::write_failed() {
  // The peer is gone. No callback runs from inside a send: shutting the socket down makes the
  // next readiness report end of file, and on_close follows from there.
  broken_ = true;
  queue_.clear();
  ws_.output_buffer().clear();
  ::shutdown(fd_, SHUT_RDWR);
}

bool socket_conn::over_limit(std::size_t extra) const noexcept {
  return queued() + extra > ctx_.server.opts.max_backpressure;
}

void socket_conn::check_backpressure() {
  if (!over_limit(0) || ctx_.server.opts.policy != backpressure_policy::close) return;
  if (ws_.done()) return;
  ws_.abort(ws::errc::send_queue_full);
  queue_.clear();
  broken_ = true;
  ::shutdown(fd_, SHUT_RDWR);  // on_close (1008) runs from the next readiness, not from here
}

void socket_conn::want_write(bool on) {
  if (epollout_ == on || phase_ == phase::dead) return;
  epollout_ = on;
  const std::uint32_t in = peer_done_ ? 0u : static_cast<std::uint32_t>(EPOLLIN);
  ctx_.loop.modify(fd_, on ? (in | EPOLLOUT) : in, this);
}

send_result socket_conn::send_message(std::string_view data, ws::opcode op, bool compress) {
  if (phase_ != phase::websocket || broken_ || !ws_.can_send()) return result(send_status::closed);
  if (ctx_.server.opts.policy == backpressure_policy::drop && queued() != 0 &&
      over_limit(data.size() + ws::max_header_size))
    return result(send_status::dropped);
  const bool compressing =
      compress && ws_.compresses() && data.size() >= ctx_.server.opts.deflate.min_size;
  // Between the fragments of a message of ours, ws_ holds whole messages back (RFC 6455
  // section 5.4), so the writev shortcut, which goes around it, is closed then.
  if (data.size() < writev_threshold || compressing || tls_ || !ws_.frame_insertable()) {
    const bool lend = !corked_ && ws_.pending_output().empty();
    if (lend) std::swap(ws_.output_buffer(), ctx_.scratch);
    ws_.send(op, data, compressing);
    if (lend) {
      flush_output();
      std::swap(ws_.output_buffer(), ctx_.scratch);
    }
    // Held behind a fragmented message, it is in no queue yet, but counts toward the limit.
    if (!ws_.frame_insertable()) check_backpressure();
  } else {
    flush_output();
    char header[ws::max_header_size];
    const std::size_t hn = ws_.frame_header(header, op, data.size());
    std::size_t written = 0;
    if (queue_.empty()) {
      iovec iov[2] = {{header, hn}, {const_cast<char*>(data.data()), data.size()}};
      const net::write_result w = net::write_vector(fd_, iov, 2);
      if (w.error) {
        write_failed();
        return result(send_status::closed);
      }
      written = w.written;
    }
    if (written < hn) queue_.push(std::string_view(header + written, hn - written));
    const std::size_t pw = written > hn ? written - hn : 0;
    if (pw < data.size()) queue_rest(data.substr(pw));
    check_backpressure();
  }
  if (broken_) return result(send_status::closed);
  return result(queued() == 0 ? send_status::sent : send_status::buffered);
}

send_result socket_conn::send_piece(std::string_view data, ws::opcode op, bool fin) {
  if (phase_ != phase::websocket || broken_) return result(send_status::closed);
  if (!ws_.send_fragment(op, data, fin)) return result(send_status::closed);
  if (!corked_) flush_output();
  if (broken_) return result(send_status::closed);
  return result(queued() == 0 ? send_status::sent : send_status::buffered);
}

bool socket_conn::send_ping(std::string_view data) {
  if (phase_ != phase::websocket || broken_ || !ws_.ping(data)) return false;
  if (!corked_) flush_output();
  return true;
}

void socket_conn::start_close(std::uint16_t code, std::string_view reason) {
  if (phase_ != phase::websocket || !ws_.close(code, reason)) return;
  deadline = closing_deadline(ctx_);
  if (!corked_) flush_output();
}

void socket_conn::abort_now() {
  if (phase_ != phase::websocket || ws_.done()) return;
  ws_.abort(ws::errc::connection_lost);
  write_failed();
}

bool socket_conn::deliver_shared(const net::shared_bytes& frame) {
  if (phase_ != phase::websocket || broken_ || !ws_.can_send()) return false;
  if (ctx_.server.opts.policy == backpressure_policy::drop && queued() != 0 &&
      over_limit(frame->size()))
    return false;
  if (corked_ || !ws_.pending_output().empty() || !ws_.frame_insertable()) {
    // Keeps order behind replies batched in this callback; ws_ holds it back if a fragmented
    // message of ours is under way (RFC 6455 section 5.4).
    ws_.insert_frame(*frame);
    check_backpressure();
    return !broken_;
  }
  if (tls_) {  // ciphertext is per socket: the shared frame is encrypted for this one
    emit(*frame);
    check_backpressure();
    return !broken_;
  }
  // Queued by reference and written at the end of the loop iteration, so that every broadcast
  // this iteration makes reaches a subscriber in one writev instead of one send each.
  queue_.push(frame);
  if (!deferred_ && !epollout_) {
    deferred_ = true;
    ctx_.deferred.push_back(this);
  }
  check_backpressure();
  return true;
}

void socket_conn::flush_deferred() {
  deferred_ = false;
  if (broken_ || phase_ == phase::dead || epollout_ || queue_.empty()) return;
  const net::write_result w = queue_.flush(fd_);
  if (w.error) return write_failed();
  if (!queue_.empty()) want_write(true);
  maybe_finish();
}

// ---- closing ---------------------------------------------------------------------------

void socket_conn::maybe_finish() {
  if (!close_after_flush_ || !queue_.empty()) return;
  if (phase_ == phase::http || phase_ == phase::websocket) finish_close();
}

void socket_conn::finish_close() {
  if (tls_ && !tls_closed_) {
    // Orderly end: our close frame has gone, then TLS's close_notify, then TCP's FIN.
    tls_closed_ = true;
    std::string cipher;
    tls_->close_notify(cipher);
    emit_wire(cipher);
    if (!queue_.empty()) return;  // maybe_finish comes back once the queue drains
  }
  // Half-close and read until the peer's FIN: closing with unread input would send a reset
  // that can destroy our last frame or response before the peer reads it.
  ::shutdown(fd_, SHUT_WR);
  phase_ = phase::draining;
  http_.reset();
  deadline = closing_deadline(ctx_);
  if (peer_done_) destroy();  // its FIN came already: nothing more to wait for
}

void socket_conn::on_deadline(std::uint64_t now) noexcept {
  try {
    expire(now);
  } catch (...) {
    // One socket's failure must not stop the sweep for every socket after it.
    ctx_.loop.report_exception(std::current_exception());
    fail_internal();
  }
}

void socket_conn::expire(std::uint64_t now) {
  const auto& o = ctx_.server.opts;
  aborting_ = true;  // whatever this timer ends, it ends by giving up
  if (phase_ == phase::http) {
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
    deadline =
        o.pong_timeout.count() > 0 ? now + static_cast<std::uint64_t>(o.pong_timeout.count()) : 0;
    send_ping({});
    return;
  }
  ctx_.server.log("idle timeout for " + remote_address());
  start_close(ws::close_code::going_away, "idle timeout");
}

void socket_conn::begin_shutdown() {
  if (phase_ == phase::http) return destroy();
  if (phase_ == phase::websocket && ws_.state() == ws::state::open)
    start_close(ws::close_code::going_away, "server shutting down");
}

void socket_conn::force_close() {
  aborting_ = true;
  if (phase_ == phase::websocket && !ws_.done()) {
    ws_.abort(ws::errc::close_timeout);
    drain_events();
  }
  destroy();
}

void socket_conn::destroy() {
  if (phase_ == phase::dead) return;
  if (phase_ == phase::websocket && !close_reported_) {
    broken_ = true;  // nothing more goes out: the socket is being torn down
    report_final_close();
    if (phase_ == phase::dead) return;  // on_close ended it already
  }
  unsubscribe_all();
  ctx_.loop.remove(fd_);
  // Given up on (a timeout, a full queue, a failure): bytes the peer never took are dropped
  // with a reset. Otherwise a plain close, so that a peer that half-closed (it may still be
  // reading) gets everything and a FIN.
  if (broken_ || aborting_) {
    net::close_socket(fd_);
  } else {
    ::close(fd_);
  }
  fd_ = -1;
  phase_ = phase::dead;
  http_.reset();
  queue_.clear();
  ctx_.unlink(this);
  ctx_.graveyard.push_back(this);
}

// ---- topics ----------------------------------------------------------------------------

bool socket_conn::subscribe(std::string_view name) {
  if (phase_ != phase::websocket || !ws_.can_send() || subscribed(name)) return false;
  auto it = ctx_.topics.find(name);
  if (it == ctx_.topics.end())
    it = ctx_.topics.emplace(std::string(name), topic{std::string(name), {}}).first;
  it->second.subscribers.push_back(this);
  topics_.push_back(&it->second);
  return true;
}

bool socket_conn::unsubscribe(std::string_view name) {
  for (std::size_t i = 0; i < topics_.size(); ++i) {
    topic* t = topics_[i];
    if (t->name != name) continue;
    auto& subs = t->subscribers;
    for (auto& s : subs) {
      if (s == this) {
        s = subs.back();
        subs.pop_back();
        break;
      }
    }
    topics_[i] = topics_.back();
    topics_.pop_back();
    // Erase through an iterator: erasing by a key that lives inside the node is unsafe.
    if (subs.empty()) ctx_.topics.erase(ctx_.topics.find(std::string_view(t->name)));
    return true;
  }
  return false;
}

bool socket_conn::subscribed(std::string_view name) const {
  for (const topic* t : topics_)
    if (t->name == name) return true;
  return false;
}

void socket_conn::unsubscribe_all() {
  while (!topics_.empty())
    unsubscribe(std::string(topics_.back()->name));
  std::vector<topic*>().swap(topics_);
}

}  // namespace duplex::detail
