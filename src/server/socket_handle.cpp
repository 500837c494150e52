// socket_handle: sends and closes from any thread, posted to the socket's loop, where the
// token says whether that socket is still there.
#include "duplex/server/socket_handle.hpp"

#include "server_state.hpp"
#include "socket_conn.hpp"
#include "socket_token.hpp"

namespace duplex {
namespace {

// Posts fn(conn) to the token's loop; false when the socket or its loop is gone.
template <class F>
bool post_to(const std::shared_ptr<detail::socket_token>& token, F&& fn) {
  if (!token || !token->open.load(std::memory_order_acquire)) return false;
  auto& anchor = *token->anchor;
  std::lock_guard lock(anchor.mutex);
  if (anchor.ctx == nullptr) return false;
  anchor.ctx->loop.post([token, fn = std::forward<F>(fn)]() mutable {
    if (token->conn != nullptr) fn(*token->conn);
  });
  return true;
}

}  // namespace

bool socket_handle::send(std::string_view data, ws::opcode op) const {
  return post_to(
      token_, [d = std::string(data), op](detail::socket_conn& c) { c.send_message(d, op, true); });
}

bool socket_handle::close(ws::close_code code, std::string_view reason) const {
  return post_to(token_, [code, r = std::string(reason)](detail::socket_conn& c) {
    c.start_close(ws::to_int(code), r);
  });
}

bool socket_handle::alive() const noexcept {
  return token_ && token_->open.load(std::memory_order_acquire);
}

socket_handle websocket::handle() {
  auto& me = static_cast<detail::socket_conn&>(*this);
  me.context().loop.expect_owner("websocket::handle");
  return socket_handle(me.token());
}

namespace detail {

std::shared_ptr<socket_token> socket_conn::token() {
  auto& t = rare().token;
  if (!t) {
    t = std::make_shared<socket_token>();
    t->anchor = ctx_.anchor;
    t->conn = this;
    t->open.store(phase_ != phase::dead, std::memory_order_release);
  }
  return t;
}

void socket_conn::retire_token() noexcept {
  if (!rare_ || !rare_->token) return;
  rare_->token->open.store(false, std::memory_order_release);
  rare_->token->conn = nullptr;
}

}  // namespace detail
}  // namespace duplex
