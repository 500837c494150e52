#include "upgrade.hpp"

#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex::detail {

int negotiate(const server_state& s, net::event_loop& loop, const route& r,
              const http::request& req, const ws::upgrade_request& up, websocket& socket,
              std::string& protocol) {
  const auto& b = r.behavior;
  if (!ws::origin_allowed(b.allowed_origins, up.origin)) return 403;
  const std::string_view chosen = ws::choose_subprotocol(b.subprotocols, up.protocols);
  if (!b.on_upgrade) {
    protocol = chosen;
    return 0;
  }
  // Only a hook pays for the peer's address and an owned copy of the offers.
  upgrade_context ctx{req,
                      socket.remote_address(),
                      {up.protocols.begin(), up.protocols.end()},
                      std::string(chosen),
                      socket};
  int status = 500;
  try {
    status = b.on_upgrade(ctx);
  } catch (...) {
    loop.report_exception(std::current_exception());
  }
  if (status != 0) return status;
  if (!ws::may_answer_subprotocol(ctx.offered, ctx.subprotocol)) {
    s.log("upgrade hook chose subprotocol '" + ctx.subprotocol + "' that was not offered");
    return 500;
  }
  protocol = std::move(ctx.subprotocol);
  return 0;
}

void socket_conn::upgrade(const http::request& req) {
  const route* r = ctx_.server.find_ws(req.path());
  if (r == nullptr) return respond_and_close(404, "no WebSocket endpoint at this path");
  ws::upgrade_request up;
  if (const auto ec = ws::validate_upgrade(req, up)) {
    const auto e = static_cast<ws::handshake_errc>(ec.value());
    return respond_and_close(ws::status_for(e), ec.message());
  }
  adopt_forwarded(req);
  std::string protocol;
  if (const int status = negotiate(ctx_.server, ctx_.loop, *r, req, up, *this, protocol);
      status != 0)
    return respond_and_close(status,
                             status == 403 ? "origin not allowed" : "refused by the application");
  if (!protocol.empty()) rare().protocol = std::move(protocol);
  std::string extensions;
  const auto& opts = ctx_.server.opts;
  if (!up.extensions.empty()) {
    if (auto agreed = ws::negotiate_deflate(up.extensions, opts.deflate)) {
      extensions = std::move(agreed->response);
      ws_.enable_deflate(agreed->params, opts.deflate.level, opts.deflate.min_size,
                         opts.deflate.memory);
    }
  }
  std::string response = ws::accept_response(up.key, agreed_protocol(), extensions);
  std::string leftover(http_->reader.after_head());
  route_ = r;
  http_.reset();
  phase_ = phase::websocket;
  set_deadline(ctx_.after(opts.idle_timeout));
  if (writable()) emit(response);
  if (route_->behavior.on_open) {
    begin_cork();
    call_app([&] { route_->behavior.on_open(*this); });
    end_cork();
  }
  // RFC 6455 section 4.1: frames may follow the handshake in the same segment; keep them.
  if (!leftover.empty() && phase_ == phase::websocket) dispatch(leftover);
}

}  // namespace duplex::detail
