// The server socket behind proxies: the PROXY protocol v2 header a trusted peer sends first,
// and the forwarded headers of its upgrade request. Nobody outside trusted_proxies is heard.
#include <sys/socket.h>

#include <cerrno>

#include "../net/io_calls.hpp"
#include "../net/proxy_header.hpp"
#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex::detail {
namespace {

std::optional<net::address> tcp_peer(int fd) noexcept {
  net::address a;
  a.length = sizeof a.storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
    return std::nullopt;
  return a;
}

}  // namespace

void socket_conn::expect_proxy_header() {
  const auto& s = ctx_.server;
  if (!s.opts.proxy_protocol || s.trusted.empty()) return;
  const auto peer = tcp_peer(fd());
  if (!peer || !s.trusted.trusts(*peer)) return;  // a stranger's header is just bad input
  rare().awaiting = true;
}

// Reads exactly as many bytes as the header still needs, so the first byte after it (a TLS
// ClientHello or a request) is left to the stream.
void socket_conn::read_proxy_header() {
  auto& e = *rare_;
  while (true) {
    const auto r = net::parse_proxy_v2(e.header);
    if (r.status == net::proxy_status::invalid) {
      ctx_.server.log("PROXY header refused from " + remote_address() + ": " + r.error);
      aborting_ = true;
      return destroy();
    }
    if (r.status == net::proxy_status::done) {
      e.awaiting = false;
      e.header = std::string();
      if (r.proxied) {
        e.client = r.source.to_string();
        e.client_ip = ip_of(r.source);
      }
      return;
    }
    char buf[512];
    const ssize_t n = net::sys::recv(fd(), buf, std::min(r.need, sizeof buf), 0);
    if (n > 0) {
      e.header.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    return destroy();  // the peer left before its header was whole
  }
}

// Forwarded headers count only when the hop that delivered them, the TCP peer or the client a
// PROXY header named, is itself a trusted proxy.
std::optional<std::string> socket_conn::forwarded_by_trusted(const http::request& req) const {
  const auto& s = ctx_.server;
  if (!s.opts.forwarded_headers || s.trusted.empty()) return std::nullopt;
  std::optional<ip_address> hop;
  if (rare_ && rare_->client_ip) {
    hop = rare_->client_ip;
  } else if (const auto peer = tcp_peer(fd())) {
    hop = ip_of(*peer);
  }
  if (!hop || !s.trusted.trusts(*hop)) return std::nullopt;
  return forwarded_client(req, s.trusted);
}

// An upgrade's client holds for the socket's whole life.
void socket_conn::adopt_forwarded(const http::request& req) {
  auto client = forwarded_by_trusted(req);
  if (!client) return;
  rare().client = std::move(*client);
}

// A plain request's client is its own: a proxy's connection carries requests of many clients.
std::string socket_conn::request_client(const http::request& req) const {
  if (auto client = forwarded_by_trusted(req)) return std::move(*client);
  return remote_address();
}

const std::string* socket_conn::reported_client() const noexcept {
  return rare_ && !rare_->client.empty() ? &rare_->client : nullptr;
}

}  // namespace duplex::detail
