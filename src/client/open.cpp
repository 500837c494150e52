// Opening a client connection: the URL, name resolution off the loop, happy eyeballs, TLS and
// the HTTP upgrade.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "connection.hpp"
#include "duplex/core/base64.hpp"
#include "duplex/ws/handshake.hpp"

namespace duplex {

void client::impl::connect(std::string_view url) {
  if (!ws_url::parse(url, url_))
    return fail(client_errc::bad_url, "not a ws:// or wss:// URL: " + std::string(url));
  tls_ctx_.reset();
  if (url_.secure) {
    try {
      tls_ctx_ = net::tls_context::client(opts_.tls);
    } catch (const std::exception& e) {
      return fail(client_errc::tls_setup, e.what());
    }
  }
  unix_address_.reset();
  proxy_.reset();
  const std::string& unix_path = !url_.unix_path.empty() ? url_.unix_path : opts_.unix_socket;
  if (!unix_path.empty()) {
    try {
      unix_address_ = net::address::unix_path(unix_path);
    } catch (const std::exception& e) {
      return fail(client_errc::bad_url, e.what());
    }
  } else if (!choose_proxy()) {
    return;
  }
  start_attempt();
}

// The explicit proxy, or the environment's when asked; false after reporting a bad setting.
bool client::impl::choose_proxy() {
  proxy_.reset();
  std::string error;
  if (!opts_.proxy.empty()) {
    detail::proxy_config p;
    if (!detail::proxy_config::parse(opts_.proxy, p, error)) {
      fail(client_errc::proxy_failed, std::move(error));
      return false;
    }
    proxy_ = std::move(p);
  } else if (opts_.proxy_from_environment) {
    proxy_ = detail::proxy_from_environment(url_.secure, url_.host, url_.port, error);
    if (!error.empty()) {
      fail(client_errc::proxy_failed, std::move(error));
      return false;
    }
  }
  return true;
}

// Each attempt starts from a fresh protocol state and a fresh key.
bool client::impl::prepare_attempt() {
  ws_.emplace(ws::role::client, opts_.ws_limits, &rng_);
  parser_ = http::response_parser{};
  head_.clear();
  protocol_.clear();
  extensions_.clear();
  std::array<std::byte, 16> raw{};
  rng_.fill(raw);
  key_ = core::base64_encode({reinterpret_cast<const char*>(raw.data()), raw.size()});
  std::string refused;
  request_ = ws::offer_request(url_.host_header(), url_.target, key_, opts_.subprotocols,
                               opts_.deflate, opts_.headers, refused);
  if (request_.empty()) {
    fail(client_errc::header_not_allowed, "header not allowed: " + refused);
    return false;
  }
  return true;
}

void client::impl::start_attempt() {
  resolver_.cancel();
  dialer_.cancel();
  close_stream();  // what is left of the last connection, if it still lingers
  if (!prepare_attempt()) return;
  arm(opts_.open_timeout, &impl::open_timed_out);
  if (unix_address_) return on_resolved({{*unix_address_}, {}});
  phase_ = phase::resolving;
  // Through a proxy, only the proxy's name is ours to resolve; it resolves the server's.
  const std::string& host = proxy_ ? proxy_->host : url_.host;
  resolver_.start(host, proxy_ ? proxy_->port : url_.port,
                  [this](detail::resolved r) { on_resolved(std::move(r)); });
}

void client::impl::on_resolved(detail::resolved r) {
  if (r.addresses.empty()) return fail(client_errc::resolve_failed, std::move(r.error));
  phase_ = phase::connecting;
  dialer_.start(std::move(r.addresses),
                [this](int fd, std::string error) { on_dialed(fd, std::move(error)); });
}

void client::impl::on_dialed(int fd, std::string error) {
  if (fd < 0) return fail(client_errc::connect_failed, std::move(error));
  stream().adopt(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on Unix
  stream().watch(true, false);
  on_connected();
}

void client::impl::on_connected() {
  if (proxy_) {
    phase_ = phase::proxying;
    stream().write(detail::connect_request(*proxy_, url_.host, url_.port));
    flush();
    return;
  }
  start_handshake();
}

void client::impl::on_proxy_bytes(const char* data, std::size_t n) {
  head_.append(data, n);
  const auto a = detail::read_proxy_answer(head_, parser_);
  using state = detail::proxy_answer::state;
  if (a.result == state::incomplete) return;
  if (a.result == state::refused) return fail(client_errc::proxy_refused, a.detail, a.status);
  if (a.result == state::malformed) return fail(client_errc::proxy_failed, a.detail);
  head_.clear();
  parser_ = http::response_parser{};
  start_handshake();
}

// TLS, when asked, runs inside the proxy's tunnel as it would on a direct connection.
void client::impl::start_handshake() {
  phase_ = phase::handshaking;
  if (tls_ctx_) {
    try {
      stream().use_tls(tls_ctx_, false, url_.host);
    } catch (const std::exception& e) {
      return fail(client_errc::tls_setup, e.what());
    }
    stream().start_tls();
  }
  // With TLS the stream holds the request until its handshake is done.
  stream().write(std::exchange(request_, {}));
  flush();
}

void client::impl::fail(client_errc code, std::string detail, int status) {
  resolver_.cancel();
  dialer_.cancel();
  close_stream();
  phase_ = phase::done;
  const client_error e{code, std::move(detail), status};
  plan_retry(retryable(e));
  if (h_.on_error) call_app([&] { h_.on_error(owner_, e); });
  schedule_retry();
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
  if (e.code) return fail(static_cast<client_errc>(e.code.value()), std::move(e.detail), e.status);
  open_with(head_.substr(parser_.head_size()));
}

// The answer is checked by the ws layer; what it agreed takes effect here.
void client::impl::verify(const http::response& res, client_error& e) {
  std::optional<ws::deflate_params> agreed;
  const auto ec = ws::check_response(res, key_, opts_.subprotocols, opts_.deflate, agreed);
  if (ec == ws::handshake_errc::not_switching_protocols) {
    e = {client_errc::refused,
         "server answered " + std::to_string(res.status) + " " + std::string(res.reason),
         res.status};
    return;
  }
  if (ec) {
    e = {client_errc::bad_handshake, ec.message()};
    return;
  }
  if (agreed) {
    ws_->enable_deflate(*agreed, opts_.deflate.level, opts_.deflate.min_size);
    extensions_ = std::string(*res.find("Sec-WebSocket-Extensions"));
  }
  protocol_ = std::string(res.find("Sec-WebSocket-Protocol").value_or(""));
}

void client::impl::open_with(std::string leftover) {
  disarm();
  std::string().swap(head_);
  phase_ = phase::open;
  opened_ms_ = loop_.now_ms();
  ++opens_;
  start_keepalive();
  if (h_.on_open) call_app([&] { h_.on_open(owner_); });
  if (!leftover.empty() && phase_ == phase::open) dispatch(leftover);
}

}  // namespace duplex
