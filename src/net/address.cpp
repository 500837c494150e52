#include "duplex/net/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <type_traits>

namespace duplex::net {

static_assert(sizeof(address::storage) == sizeof(sockaddr_storage));
static_assert(alignof(sockaddr_storage) <= 8);
static_assert(std::is_same_v<decltype(address::length), socklen_t>);

int address::family() const noexcept {
  sa_family_t f;
  std::memcpy(&f, storage, sizeof f);  // ss_family comes first in every sockaddr
  return f;
}

address address::resolve(std::string_view host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  const std::string h(host == "*" ? std::string_view{} : host);
  const std::string p = std::to_string(port);
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(h.empty() ? nullptr : h.c_str(), p.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr)
    throw std::runtime_error("cannot resolve '" + h + "': " + ::gai_strerror(rc));
  address a;
  std::memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.length = res->ai_addrlen;
  ::freeaddrinfo(res);
  return a;
}

address address::unix_path(std::string_view path) {
  sockaddr_un un{};
  if (path.empty() || path.size() >= sizeof un.sun_path)
    throw std::invalid_argument("a Unix-domain socket path must have 1 to " +
                                std::to_string(sizeof un.sun_path - 1) +
                                " bytes: " + std::string(path));
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  address a;
  std::memcpy(&a.storage, &un, sizeof un);
  a.length = static_cast<std::uint32_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

std::string address::to_string() const {
  if (family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
    const std::size_t max =
        length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    return "unix:" + std::string(un->sun_path, ::strnlen(un->sun_path, max));
  }
  char host[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(port());
  }
  return "?";
}

std::uint16_t address::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

}  // namespace duplex::net
