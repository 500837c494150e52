#include "proxy_header.hpp"

#include <netinet/in.h>

#include <cstring>

namespace duplex::net {
namespace {

constexpr unsigned char cmd_local = 0x0, cmd_proxy = 0x1;
constexpr unsigned char fam_unspec = 0x0, fam_inet = 0x1, fam_inet6 = 0x2, fam_unix = 0x3;
constexpr std::size_t inet_size = 12, inet6_size = 36;

proxy_result invalid(const char* why) noexcept {
  proxy_result r;
  r.status = proxy_status::invalid;
  r.error = why;
  return r;
}

unsigned byte(std::string_view s, std::size_t i) noexcept {
  return static_cast<unsigned char>(s[i]);
}

std::uint16_t be16(std::string_view s, std::size_t i) noexcept {
  return static_cast<std::uint16_t>(byte(s, i) << 8 | byte(s, i + 1));
}

// `ip` holds 4 or 16 bytes in network order.
address make(std::string_view ip, std::uint16_t port) noexcept {
  address a;
  if (ip.size() == 4) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, ip.data(), 4);
    std::memcpy(a.storage, &in, sizeof in);
    a.length = sizeof in;
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    std::memcpy(&in6.sin6_addr, ip.data(), 16);
    std::memcpy(a.storage, &in6, sizeof in6);
    a.length = sizeof in6;
  }
  return a;
}

}  // namespace

proxy_result parse_proxy_v2(std::string_view bytes) noexcept {
  // The signature is checked byte by byte as it arrives: a stranger's bytes fail at once.
  const std::size_t sig = std::min(bytes.size(), proxy_v2_signature.size());
  if (bytes.substr(0, sig) != proxy_v2_signature.substr(0, sig))
    return invalid("not a PROXY protocol v2 header");
  if (bytes.size() < proxy_v2_fixed_size) {
    proxy_result r;
    r.need = proxy_v2_fixed_size - bytes.size();
    return r;
  }
  const unsigned ver_cmd = byte(bytes, 12), fam = byte(bytes, 13);
  if ((ver_cmd >> 4) != 0x2) return invalid("PROXY protocol version is not 2");
  const unsigned cmd = ver_cmd & 0xF;
  if (cmd != cmd_local && cmd != cmd_proxy) return invalid("unknown PROXY command");
  const std::size_t total = proxy_v2_fixed_size + be16(bytes, 14);
  if (total > proxy_v2_max_size) return invalid("PROXY header too long");
  const unsigned family = fam >> 4, transport = fam & 0xF;
  if (family > fam_unix || transport > 0x2) return invalid("unknown PROXY address family");
  const std::size_t needed = family == fam_inet ? inet_size : family == fam_inet6 ? inet6_size : 0;
  if (cmd == cmd_proxy && total - proxy_v2_fixed_size < needed)
    return invalid("PROXY header shorter than its addresses");
  if (bytes.size() < total) {
    proxy_result r;
    r.need = total - bytes.size();
    return r;
  }
  proxy_result r;
  r.status = proxy_status::done;
  r.size = total;
  // LOCAL, UNSPEC and UNIX say nothing about an IP client: the connection's own peer stands.
  if (cmd == cmd_local || family == fam_unspec || family == fam_unix || transport == 0) return r;
  const std::string_view body = bytes.substr(proxy_v2_fixed_size);
  const std::size_t len = family == fam_inet ? 4 : 16;
  r.proxied = true;
  r.source = make(body.substr(0, len), be16(body, 2 * len));
  r.destination = make(body.substr(len, len), be16(body, 2 * len + 2));
  return r;
}

}  // namespace duplex::net
