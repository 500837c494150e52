#include "client_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace duplex::chat {
namespace {

constexpr std::size_t max_text = 64;

// The host part of "host", "host:port", "[v6]" or "[v6]:port".
std::string_view host_part(std::string_view peer) {
  if (peer.starts_with('[')) {
    const auto close = peer.find(']');
    return close == std::string_view::npos ? peer : peer.substr(1, close - 1);
  }
  const auto colon = peer.find(':');
  // More than one colon: a bare IPv6 address, not host:port.
  if (colon != std::string_view::npos && peer.find(':', colon + 1) == std::string_view::npos)
    return peer.substr(0, colon);
  return peer;
}

bool parse_v4(std::string_view host, in_addr& out) {
  if (host.size() >= INET_ADDRSTRLEN) return false;
  const std::string z(host);
  return ::inet_pton(AF_INET, z.c_str(), &out) == 1;
}

bool parse_v6(std::string_view host, in6_addr& out) {
  if (host.size() >= INET6_ADDRSTRLEN) return false;
  const std::string z(host);
  return ::inet_pton(AF_INET6, z.c_str(), &out) == 1;
}

std::string v4_text(const in_addr& a) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

std::string peer_host(std::string_view peer) {
  const std::string_view host = host_part(peer);
  in_addr v4{};
  in6_addr v6{};
  if (parse_v4(host, v4) || parse_v6(host, v6)) return std::string(host);
  return std::string(peer.substr(0, max_text));
}

std::string address_key(std::string_view peer) {
  const std::string_view host = host_part(peer);
  in_addr v4{};
  if (parse_v4(host, v4)) return v4_text(v4);
  in6_addr v6{};
  if (!parse_v6(host, v6)) return std::string(peer.substr(0, max_text));
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    return v4_text(v4);
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &v6, buf, sizeof buf);
  return std::string(buf) + "/64";
}

}  // namespace duplex::chat
