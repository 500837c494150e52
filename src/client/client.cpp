#include "duplex/client/client.hpp"

#include "connection.hpp"
#include "duplex/http/url.hpp"

namespace duplex {

// ---- URL -------------------------------------------------------------------------------

// "ws+unix://" PATH [":" TARGET]: the path ends at the first colon, as other clients read it.
static bool parse_unix(std::string_view rest, bool secure, ws_url& out) {
  const auto colon = rest.find(':');
  out.unix_path = std::string(rest.substr(0, colon));
  std::string target = colon == std::string_view::npos ? "/" : std::string(rest.substr(colon + 1));
  if (target.empty()) target = "/";
  http::url_parts p;
  if (out.unix_path.empty() || !http::parse_url("ws://localhost" + target, p) ||
      target.front() != '/')
    return false;
  out.secure = secure;
  out.host = "localhost";
  out.port = secure ? 443 : 80;
  out.target = std::move(p.target);
  return true;
}

bool ws_url::parse(std::string_view url, ws_url& out) {
  out = ws_url{};
  for (const bool secure : {false, true}) {
    const std::string_view scheme = secure ? "wss+unix://" : "ws+unix://";
    if (url.substr(0, scheme.size()) == scheme)
      return parse_unix(url.substr(scheme.size()), secure, out);
  }
  http::url_parts p;
  if (!http::parse_url(url, p) || (p.scheme != "ws" && p.scheme != "wss")) return false;
  out.secure = p.scheme == "wss";
  out.host = std::move(p.host);
  out.port = p.port.value_or(out.secure ? 443 : 80);
  out.target = std::move(p.target);
  return true;
}

std::string ws_url::host_header() const {
  return http::host_header(host, port, secure ? 443 : 80);
}

// ---- public face -----------------------------------------------------------------------

client::client(net::event_loop& loop, client_options opts, client_handlers handlers)
    : impl_(std::make_unique<impl>(*this, loop, std::move(opts), std::move(handlers))) {}
client::~client() = default;
void client::connect(std::string_view url) {
  impl_->stop_retrying();
  impl_->deliberate_ = false;
  impl_->connect(url);
}
send_result client::send(std::string_view data, ws::opcode op) {
  return impl_->send(data, op, data.size() >= impl_->min_compress());
}
send_result client::send(std::string_view data, ws::opcode op, bool compress) {
  return impl_->send(data, op, compress);
}
send_result client::send_fragment(std::string_view data, ws::opcode op, bool fin) {
  return impl_->send_fragment(data, op, fin);
}
bool client::ping(std::string_view data) {
  return impl_->ping(data);
}
void client::close(ws::close_code code, std::string_view reason) {
  impl_->stop_retrying();
  impl_->close(ws::to_int(code), reason);
}
void client::terminate() {
  impl_->stop_retrying();
  impl_->terminate();
}
bool client::is_open() const noexcept {
  return impl_->phase_ == impl::phase::open;
}
unsigned client::reconnects() const noexcept {
  return impl_->opens_ > 0 ? impl_->opens_ - 1 : 0;
}
std::size_t client::buffered_amount() const noexcept {
  return impl_->buffered();
}
std::string_view client::subprotocol() const noexcept {
  return impl_->protocol_;
}
std::string_view client::extensions() const noexcept {
  return impl_->extensions_;
}

}  // namespace duplex
