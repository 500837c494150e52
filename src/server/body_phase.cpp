// The server's request bodies: one exchange per request on a body route, its body decoded
// from the connection's buffer between two heads, delivered whole or in pieces, and its
// answer, which may come long after the handler returned.
#include <algorithm>
#include <cstdint>

#include "duplex/http/expect.hpp"
#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex::detail {

const body_route* socket_conn::body_route_for(const http::request& req) const {
  const auto& s = ctx_.server;
  if (s.body_routes.empty()) return nullptr;
  const auto path = req.path();
  if (s.http_routes.find(path) != s.http_routes.end()) return nullptr;
  return s.find_body(path);
}

void socket_conn::begin_exchange(const body_route& r, const http::request& req) {
  if (req.version_minor >= 1 && req.count("Host") != 1)
    return respond_and_close(400, "missing or repeated Host header");
  auto ex = std::make_shared<exchange_state>();
  ex->conn = this;
  ex->loop = ctx_.index;
  ex->keep_alive = http::keeps_alive(req);
  ex->head_only = req.method == "HEAD";
  ex->peer = request_client(req);
  // The reader compacts its buffer on the next append: the head moves into the exchange.
  adopt_head(*ex, req, http_->reader.unread().substr(0, http_->reader.head_size()));
  http_->reader.consume();
  if (!http_->body) http_->body = std::make_unique<body_state>();
  body_state& b = *http_->body;
  b.ex = std::move(ex);
  b.route = &r;
  b.total_deadline = ctx_.after(ctx_.server.opts.body_total_timeout);
  set_deadline(body_deadline());
  // Whether the client waits for a 100 before it sends the body (any limit would do here).
  b.continue_owed =
      http::decide_expect(b.ex->request, UINT64_MAX).action == http::expect_action::send_continue;
  if (r.streaming && r.stream.on_head) {
    http_exchange h(b.ex);
    if (!call_route([&] { r.stream.on_head(h); })) return;
  }
  if (b.ex && !b.close_after) open_body(b);
}

// After the route's own checks: the Expect field, then the decoder (or the discarding of the
// rest, for an answer given in on_head).
void socket_conn::open_body(body_state& b) {
  const http::request& req = b.ex->request;
  std::uint64_t limit = b.route->options.max_bytes;
  if (b.ex->answered) {
    limit = discard_limit;  // can_discard() said it fits
  } else {
    const auto expect = http::decide_expect(req, limit);
    if (expect.action == http::expect_action::refuse)
      return fail_body(http::make_error_code(expect.error));
    if (expect.action == http::expect_action::send_continue && writable())
      emit(http::continue_response);
    b.continue_owed = false;
  }
  b.started = true;
  b.reading = true;
  if (b.decoder.start(req, limit) == http::body_decoder::status::error)
    return fail_body(b.decoder.error());
  b.length_left = b.decoder.kind() == http::body_kind::length ? http::request_body(req).length : 0;
}

// One step of the exchange in progress; false when it waits (for input, for the application,
// for resume()) or the connection is closing.
bool socket_conn::advance_exchange() {
  body_state& b = *http_->body;
  if (b.ex->answered && (b.close_after || !b.reading)) {
    const bool close = b.close_after;
    end_exchange();
    if (close) {
      close_after_flush();
      return false;
    }
    set_deadline(ctx_.after(ctx_.server.opts.handshake_timeout));
    return !answers_over_limit(http_->reader.buffered() != 0);
  }
  if (!b.reading || b.paused) return false;
  return read_body();
}

bool socket_conn::read_body() {
  body_state& b = *http_->body;
  const auto step = b.decoder.decode(http_->reader.unread());
  if (step.state == http::body_decoder::status::error) {
    fail_body(b.decoder.error());
    return false;
  }
  if (step.consumed > 0 && !b.paused) set_deadline(body_deadline());
  b.length_left -= std::min<std::uint64_t>(b.length_left, step.data.size());
  // The piece views the reader's buffer: delivered before skip(), which may clear it.
  if (!step.data.empty() && !b.discarding) deliver_piece(step.data);
  http_->reader.skip(step.consumed);
  if (!b.ex) return false;  // the handler failed: the connection is closing
  if (step.state == http::body_decoder::status::complete) {
    // Paused on the last piece: on_end waits for resume() too (the decoder, complete, gives
    // `complete` again then, consuming nothing).
    if (b.paused) return false;
    b.reading = false;
    end_body();
    return b.ex != nullptr;
  }
  return http_->reader.buffered() > 0;
}

void socket_conn::deliver_piece(std::string_view piece) {
  body_state& b = *http_->body;
  if (!b.route->streaming) {
    b.gathered.append(piece);  // the decoder holds it to the route's limit
    return;
  }
  if (!b.route->stream.on_data) return;
  http_exchange h(b.ex);
  call_route([&] { b.route->stream.on_data(h, piece); });
}

void socket_conn::end_body() {
  body_state& b = *http_->body;
  if (b.discarding) return;  // answered already
  http_exchange h(b.ex);
  if (b.route->streaming) {
    if (b.route->stream.on_end) call_route([&] { b.route->stream.on_end(h); });
  } else {
    call_route([&] { b.route->buffered(h, std::exchange(b.gathered, {})); });
  }
  // The answer is the application's now, however long it takes: no timer runs meanwhile.
  if (b.ex && !b.ex->answered) set_deadline(0);
}

// The decoder or the Expect field refused the body: its status, then the closing phase, so
// that the rest of the body is never parsed as a request.
void socket_conn::fail_body(std::error_code ec) {
  const bool answered = http_->body->ex->answered;
  abort_exchange(ec);
  if (answered) return close_after_flush();
  const auto e = static_cast<http::errc>(ec.value());
  respond_and_close(http::status_for(e), http::reason_for(e));
}

void socket_conn::end_exchange() noexcept {
  body_state& b = *http_->body;
  if (b.ex) b.ex->conn = nullptr;
  b = body_state{};
}

// Ends the exchange in progress, if any, and tells a streaming route whose body did not end.
void socket_conn::abort_exchange(std::error_code why) noexcept {
  if (!exchange_active()) return;
  body_state& b = *http_->body;
  const http_stream_behavior& sb = b.route->stream;
  const bool tell =
      b.route->streaming && sb.on_abort && !b.ex->answered && (b.reading || !b.started);
  http_exchange h(b.ex);
  end_exchange();
  if (!tell) return;
  try {
    sb.on_abort(h, why);
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
  }
}

// A route's callback; one that throws costs its exchange a 500 (unless answered) and the
// connection, never the loop.
template <class F>
bool socket_conn::call_route(F&& f) {
  body_state& b = *http_->body;
  const bool outer = b.in_app;
  b.in_app = true;
  try {
    f();
  } catch (...) {
    b.in_app = outer;
    ctx_.loop.report_exception(std::current_exception());
    route_failed();
    return false;
  }
  b.in_app = outer;
  return true;
}

void socket_conn::route_failed() {
  body_state& b = *http_->body;
  const bool answered = !b.ex || b.ex->answered;
  if (b.ex) end_exchange();
  if (answered) return close_after_flush();
  respond_and_close(500, "the request handler failed");
}

// ---- the http_exchange API -------------------------------------------------------------

void socket_conn::answer(const http_response& res) {
  body_state& b = *http_->body;
  b.ex->answered = true;
  bool close = !b.ex->keep_alive || res.wants_close();
  if (b.reading || !b.started) {
    if (can_discard(b))
      b.discarding = true;
    else
      close = true;
    b.paused = false;  // what is left is the glue's to drop, paused or not
    if (b.reading) set_deadline(body_deadline());
  }
  b.close_after = close;
  if (writable()) emit(res.serialize(!close, b.ex->head_only));
  // From inside a callback, the glue that called it moves on; from anywhere else, a task.
  if (!b.in_app) kick();
}

// Whether the rest of a body answered early can be read and dropped, keeping the connection.
bool socket_conn::can_discard(const body_state& b) const noexcept {
  if (b.continue_owed) return false;  // the client may or may not send it: no telling
  if (!b.started) {
    const auto f = http::request_body(b.ex->request);
    return f.empty() || (f.kind == http::body_kind::length && f.length <= discard_limit);
  }
  return b.decoder.kind() != http::body_kind::chunked && b.length_left <= discard_limit;
}

void socket_conn::pause_body() {
  body_state& b = *http_->body;
  if (!b.reading || b.paused) return;
  b.paused = true;
  b.paused_at = ctx_.loop.now_ms();
  set_deadline(0);
  update_input();
}

void socket_conn::resume_body() {
  body_state& b = *http_->body;
  if (!b.paused) return;
  b.paused = false;
  if (b.total_deadline != 0) b.total_deadline += ctx_.loop.now_ms() - b.paused_at;
  set_deadline(body_deadline());
  kick();
}

// ---- input and time --------------------------------------------------------------------

// Reading stops while a body is paused, and while an answer is awaited with a head's worth of
// the next requests buffered: bytes wait in the kernel, whose window pushes back on the client.
void socket_conn::update_input() {
  if (phase_ != phase::http || peer_done_ || !http_) return;
  bool hold = answers_held_;
  if (!hold && !close_after_flush_ && exchange_active()) {
    const body_state& b = *http_->body;
    hold = b.paused || (!b.reading && !b.ex->answered &&
                        http_->reader.buffered() >= ctx_.server.opts.http_limits.max_head_bytes);
  }
  if (hold == held_) return;
  held_ = hold;
  stream().set_interest(!hold, stream().writing());
}

void socket_conn::kick() {
  ctx_.loop.post([ex = http_->body->ex] {
    if (ex->conn != nullptr) ex->conn->continue_http();
  });
}

void socket_conn::continue_http() noexcept {
  if (phase_ != phase::http) return;
  try {
    process_http();
    if (phase_ != phase::dead) maybe_finish();
  } catch (...) {
    ctx_.loop.report_exception(std::current_exception());
    fail_internal();
  }
}

// The earlier of "no body byte for body_idle_timeout" and "the body not in by the total".
std::uint64_t socket_conn::body_deadline() const noexcept {
  const std::uint64_t idle = ctx_.after(ctx_.server.opts.body_idle_timeout);
  const std::uint64_t total = http_->body->total_deadline;
  if (idle == 0 || total == 0) return std::max(idle, total);
  return std::min(idle, total);
}

void socket_conn::expire_body() {
  ctx_.server.log("request body timeout for " + remote_address());
  const bool answered = http_->body->ex->answered;
  abort_exchange(std::make_error_code(std::errc::timed_out));
  if (answered) return destroy();
  aborting_ = false;  // the 408 is worth the closing phase
  respond_and_close(408, "request body timeout");
  maybe_finish();
}

}  // namespace duplex::detail
