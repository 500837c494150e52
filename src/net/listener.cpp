#include "duplex/net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "io_calls.hpp"

namespace duplex::net {
namespace {

int open_reserve() noexcept {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace

listener::listener(event_loop& loop, const address& bind_to, bool reuse_port, accept_fn on_accept,
                   int backlog)
    : loop_(loop), reserve_fd_(open_reserve()), on_accept_(std::move(on_accept)) {
  fd_ = ::socket(bind_to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&bind_to.storage), bind_to.length) != 0 ||
      ::listen(fd_, backlog) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(), "bind/listen " + bind_to.to_string());
  }
  address bound;
  bound.length = sizeof bound.storage;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound.storage), &bound.length);
  port_ = bound.port();
  loop_.add(fd_, io_events::readable, this);
}

bool listener::in_use(const address& a) {
  const int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT is no owner
  const bool taken = ::bind(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0 &&
                     errno == EADDRINUSE;
  ::close(fd);
  return taken;
}

listener::~listener() {
  close();
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void listener::close() noexcept {
  if (fd_ < 0) return;
  loop_.remove(fd_);
  ::close(fd_);
  fd_ = -1;
}

bool listener::shed_one() noexcept {
  // Out of descriptors: the pending connection would wake epoll forever. Free the reserve,
  // accept the connection, close it at once (the peer sees a reset), take the reserve back.
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  const int fd = sys::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  reserve_fd_ = open_reserve();
  // Linux takes the descriptor before it looks at the queue, so EMFILE comes with nothing
  // pending too: then nothing was dropped, and asking again would only say EMFILE again.
  if (fd < 0) return false;
  ++dropped_;
  std::fprintf(stderr, "duplex: out of file descriptors, dropped a connection\n");
  return true;
}

void listener::on_io(io_events) {
  // Bounded per wake-up so that a connection storm cannot starve established sockets.
  for (int i = 0; i < 256 && fd_ >= 0; ++i) {
    address peer;
    peer.length = sizeof peer.storage;
    const int fd = sys::accept4(fd_, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                                SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        if (!shed_one()) return;
        continue;
      }
      return;  // EAGAIN, or an error the next readiness will report again
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    on_accept_(fd, peer);
  }
}

}  // namespace duplex::net
