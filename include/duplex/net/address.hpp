// Socket addresses: resolving host and port for listening, Unix-domain paths, printing a peer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::net {

struct address {
  // The bytes of a sockaddr_storage (address.cpp checks size and alignment), so that this header
  // brings no system header to the code that includes it.
  alignas(8) unsigned char storage[128]{};
  std::uint32_t length = 0;  // socklen_t

  // Numeric or named host ("127.0.0.1", "::1", "localhost", "" or "*" for every address).
  static address resolve(std::string_view host, std::uint16_t port);
  // A Unix-domain socket's path; throws std::invalid_argument if empty or too long (108 bytes).
  static address unix_path(std::string_view path);
  // "127.0.0.1:80", "[::1]:80", or "unix:PATH" for a Unix-domain socket.
  std::string to_string() const;
  std::uint16_t port() const noexcept;
  int family() const noexcept;
};

}  // namespace duplex::net
