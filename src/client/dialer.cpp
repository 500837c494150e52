#include "dialer.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace duplex::detail {

struct dialer::attempt final : net::io_handler {
  attempt(dialer& d, int f, const net::address& a) : owner(&d), fd(f), to(a) {}
  void on_io(net::io_events) override {
    if (owner == nullptr || fd < 0) return;  // dropped earlier in this loop iteration
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    owner->settle(*this, err);
  }
  dialer* owner;
  int fd;
  net::address to;
};

void dialer::start(std::vector<net::address> addresses, done_fn done) {
  cancel();
  addresses_ = std::move(addresses);
  next_ = 0;
  last_error_ = addresses_.empty() ? "no address to connect to" : "";
  done_ = std::move(done);
  next();
}

// Starts attempts until one is under way; with none left and none under way, the dial failed.
void dialer::next() {
  if (timer_ != 0) loop_.cancel_timer(std::exchange(timer_, 0));
  while (next_ < addresses_.size()) {
    const net::address& to = addresses_[next_++];
    const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error_ = "socket: " + std::string(std::strerror(errno));
      continue;
    }
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(to.storage), to.length);
    if (rc != 0 && errno != EINPROGRESS) {
      last_error_ = "connect " + to.to_string() + ": " + std::strerror(errno);
      ::close(fd);
      continue;
    }
    auto a = std::make_shared<attempt>(*this, fd, to);
    live_.push_back(a);
    if (rc == 0) return settle(*a, 0);  // a Unix-domain socket connects at once
    loop_.add(fd, net::io_events::writable, a.get());
    if (next_ < addresses_.size())
      timer_ = loop_.add_timer(delay_, [this] {
        timer_ = 0;
        next();
      });
    return;
  }
  if (live_.empty()) finish(-1, last_error_);
}

void dialer::settle(attempt& a, int err) {
  if (err == 0) {
    loop_.remove(a.fd);
    const int fd = std::exchange(a.fd, -1);
    drop(a);
    cancel();  // the other attempts lose
    return finish(fd, {});
  }
  last_error_ = "connect " + a.to.to_string() + ": " + std::strerror(err);
  drop(a);
  // A failure starts the next attempt at once rather than after the delay (RFC 8305 5).
  next();
}

// The attempt's object may still have readiness waiting in this loop iteration: it is freed
// by posted work, which runs after the iteration's I/O.
void dialer::drop(attempt& a) noexcept {
  if (a.fd >= 0) {
    loop_.remove(a.fd);
    ::close(a.fd);
    a.fd = -1;
  }
  a.owner = nullptr;
  const auto it = std::find_if(live_.begin(), live_.end(), [&](auto& p) { return p.get() == &a; });
  if (it == live_.end()) return;
  std::shared_ptr<attempt> keep = std::move(*it);
  live_.erase(it);
  try {
    loop_.post([keep] {});
  } catch (...) {  // no memory for the post: the object may be freed now only if nothing waits
  }
}

void dialer::cancel() noexcept {
  if (timer_ != 0) loop_.cancel_timer(std::exchange(timer_, 0));
  while (!live_.empty())
    drop(*live_.back());
}

void dialer::finish(int fd, std::string error) {
  auto done = std::exchange(done_, nullptr);
  if (done) {
    done(fd, std::move(error));
  } else if (fd >= 0) {
    ::close(fd);
  }
}

}  // namespace duplex::detail
