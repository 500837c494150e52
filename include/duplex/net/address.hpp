// Socket addresses: resolving host and port for listening, and printing a peer.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::net {

struct address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  // Numeric or named host ("127.0.0.1", "::1", "localhost", "" or "*" for every address).
  static address resolve(std::string_view host, std::uint16_t port);
  std::string to_string() const;
  std::uint16_t port() const noexcept;
  int family() const noexcept { return storage.ss_family; }
};

}  // namespace duplex::net
