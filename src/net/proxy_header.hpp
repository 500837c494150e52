// The PROXY protocol version 2 header (HAProxy's binary preamble), parsed without I/O: a proxy
// in front of the server sends it first on each TCP connection to say who the client is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "duplex/net/address.hpp"

namespace duplex::net {

// The 12 bytes every version 2 header starts with.
inline constexpr std::string_view proxy_v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
inline constexpr std::size_t proxy_v2_fixed_size = 16;
// Headers longer than this (addresses plus TLVs) are refused: no proxy needs that much.
inline constexpr std::size_t proxy_v2_max_size = proxy_v2_fixed_size + 4096;

enum class proxy_status : std::uint8_t { need_more, done, invalid };

struct proxy_result {
  proxy_status status = proxy_status::need_more;
  // need_more: how many more bytes to read. Reading exactly that many never takes a byte past
  // the header, so what follows it (a TLS ClientHello, an HTTP request) stays in the socket.
  std::size_t need = 0;
  std::size_t size = 0;  // done: the header's length
  // done: false for the LOCAL command or an unspecified family (a proxy's own health check):
  // the connection's peer stands. True with `source` the client and `destination` the address
  // it reached (TCP or UDP over IPv4 or IPv6).
  bool proxied = false;
  address source;
  address destination;
  const char* error = nullptr;  // invalid: why, for the log
};

// Parses the start of a connection's bytes (the whole prefix read so far, not a new piece).
proxy_result parse_proxy_v2(std::string_view bytes) noexcept;

}  // namespace duplex::net
