#include "http_phase.hpp"

#include "duplex/server/http_response.hpp"
#include "duplex/ws/handshake.hpp"
#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex::detail {

bool answer_plain(const server_state& s, net::event_loop& loop, const http::request& req,
                  http_response& res) {
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
    return true;
  } catch (...) {
    loop.report_exception(std::current_exception());
    return false;
  }
}

void socket_conn::process_http() {
  while (phase_ == phase::http && !close_after_flush_ && !answers_held_) {
    if (exchange_active()) {
      if (!advance_exchange()) break;  // waits for input, the application, or resume()
      continue;
    }
    const auto st = http_->reader.parse();
    if (st == http::request_reader::status::incomplete) break;
    if (st == http::request_reader::status::error) {
      const auto ec = http_->reader.error();
      respond_and_close(http::status_for(static_cast<http::errc>(ec.value())), ec.message());
      break;
    }
    const http::request& req = http_->reader.request();
    if (const auto no = filter(req); no.status != 0) {
      respond_and_close(no.status, no.reason);
      break;
    }
    if (ws::is_upgrade_attempt(req)) return upgrade(req);
    if (const body_route* r = body_route_for(req)) {
      begin_exchange(*r, req);
      continue;
    }
    handle_plain(req);
    if (phase_ != phase::http) return;
    const bool more_asked = !http_->reader.after_head().empty();
    // The next pipelined head is parsed from where this one ends: the reader drops consumed
    // bytes once per read, not once per request, which made a pipelined read quadratic.
    http_->reader.consume();
    if (answers_over_limit(more_asked)) return;
  }
  if (phase_ != phase::http) return;
  // A client that half-closed gets every answer it asked for, then the end.
  if (peer_done_ && !close_after_flush_ && !exchange_active()) close_after_flush();
  update_input();
}

// A client that pipelines requests and never reads the answers gets no unbounded queue: with
// answers over the limit and more requests already sent, it is cut. One answer over the limit
// with nothing more asked (a file) goes out whole, while reading waits until it drains, so that
// requests sent meanwhile stay in the kernel rather than add answers to the queue.
bool socket_conn::answers_over_limit(bool more_asked) {
  if (stream().queued() <= ctx_.server.opts.max_backpressure) return false;
  if (!more_asked) {
    answers_held_ = true;
    update_input();
    return true;
  }
  ctx_.server.log("closing " + remote_address() + ": unread HTTP responses over the limit");
  aborting_ = true;
  destroy();
  return true;
}

// From on_writable: the held answer is going out; once under the limit, reading goes on. Each
// write that makes progress renews the keep-alive deadline, so a slow download is not cut and
// a client that reads nothing is.
void socket_conn::release_answers() {
  set_deadline(ctx_.after(ctx_.server.opts.handshake_timeout));
  if (stream().queued() > ctx_.server.opts.max_backpressure) return;
  answers_held_ = false;
  update_input();
  continue_http();
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

void socket_conn::handle_plain(const http::request& req) {
  if (const auto no = http::check_without_body(req); no.status != 0)
    return respond_and_close(no.status, no.reason);
  const bool keep_alive = http::keeps_alive(req);
  http_response res(request_client(req));
  if (!answer_plain(ctx_.server, ctx_.loop, req, res))
    return respond_and_close(500, "the request handler failed");
  if (writable()) emit(res.serialize(keep_alive, req.method == "HEAD"));
  if (!keep_alive || res.wants_close()) return close_after_flush();
  set_deadline(ctx_.after(ctx_.server.opts.handshake_timeout));
}

void socket_conn::respond_and_close(int status, std::string_view reason) {
  ctx_.server.log("refused request from " + remote_address() + ": " + std::to_string(status) + " " +
                  std::string(reason));
  if (writable()) emit(ws::reject_response(status, reason));
  // A peer that does not read its answer holds the socket no longer than a close would.
  close_after_flush();
}

}  // namespace duplex::detail
