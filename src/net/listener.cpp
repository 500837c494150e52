#include "duplex/net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
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

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// Whether something accepts connections on the Unix-domain socket `a` right now.
bool accepting(const address& a) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length);
  const int err = errno;
  ::close(fd);
  return rc == 0 || err == EAGAIN;  // EAGAIN: a full backlog, so a live listener
}

// Makes the path free for bind(), or says why it is not.
void claim(const unix_listen_options& w, const address& a) {
  struct stat st {};
  const std::string where = "listen unix:" + w.path;
  if (::lstat(w.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail(errno, where);
  }
  if (!S_ISSOCK(st.st_mode)) fail(EEXIST, where + ": a file that is not a socket is there");
  if (accepting(a)) fail(EADDRINUSE, where + ": another process listens there");
  if (!w.unlink_stale)
    fail(EADDRINUSE, where + ": a stale socket file is there (unix_listen_options::unlink_stale)");
  if (::unlink(w.path.c_str()) != 0 && errno != ENOENT) fail(errno, where + ": unlink");
}

}  // namespace

listener::listener(event_loop& loop, const unix_listen_options& where, accept_fn on_accept,
                   int backlog)
    : loop_(loop), reserve_fd_(open_reserve()), on_accept_(std::move(on_accept)) {
  const address a = address::unix_path(where.path);
  try {
    claim(where, a);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail(errno, "socket");
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0)
      fail(errno, "bind unix:" + where.path);
    unlink_path_ = where.path;  // ours from here on
    // Before listen(): no connection arrives while the file still has the umask's mode.
    if (::chmod(where.path.c_str(), static_cast<mode_t>(where.mode)) != 0)
      fail(errno, "chmod unix:" + where.path);
    if (::listen(fd_, backlog) != 0) fail(errno, "listen unix:" + where.path);
    watch();
  } catch (...) {
    close();
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
    throw;
  }
}

listener::listener(event_loop& loop, const listener& first, accept_fn on_accept)
    : loop_(loop),
      reserve_fd_(open_reserve()),
      port_(first.port_),
      on_accept_(std::move(on_accept)) {
  fd_ = ::fcntl(first.fd_, F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) {
    const int err = errno;
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
    fail(err, "dup listener");
  }
  watch();
}

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
  // Linux copies TCP_NODELAY from the listener to each socket it accepts, so set here it
  // saves a setsockopt per connection (the first accepted socket checks that it came).
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  address bound;
  bound.length = sizeof bound.storage;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound.storage), &bound.length);
  port_ = bound.port();
  watch();
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
  if (pause_timer_ != 0) loop_.cancel_timer(pause_timer_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void listener::close() noexcept {
  if (!unlink_path_.empty()) ::unlink(unlink_path_.c_str());
  unlink_path_.clear();
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
  ++burst_dropped_;
  return true;
}

void listener::log(const std::string& line) const {
  if (log_) return log_(line);
  std::fprintf(stderr, "duplex: %s\n", line.c_str());
}

// At the limit with nothing pending, asking again only says EMFILE again, and every connection
// that arrives would wake the loop for one more drop: the listener leaves epoll for a pause.
// A long burst says so every 10 s, not only at its end.
void listener::at_fd_limit() {
  const std::uint64_t now = loop_.now_ms();
  if (now - burst_logged_ms_ >= 10'000) {
    log("still out of file descriptors after " + std::to_string(now - burst_start_ms_) +
        " ms: dropped " + std::to_string(burst_dropped_) + " connections so far");
    burst_logged_ms_ = now;
  }
  loop_.remove(fd_);
  pause_timer_ = loop_.add_timer(fd_limit_pause, [this] {
    pause_timer_ = 0;
    resume();
  });
}

void listener::resume() {
  if (fd_ < 0) return;
  accept_ready();  // the probe: a descriptor free again ends the burst
  // Still at the limit, it paused again; else the kernel (or readiness) takes over.
  if (fd_ >= 0 && pause_timer_ == 0) watch();
}

// With io_uring the kernel accepts as connections come, with no accept4; a test's hook
// standing in for accept4 keeps readiness, so that it sees every call.
void listener::watch() {
  multishot_ = io.accept4.load(std::memory_order_relaxed) == &::accept4 &&
               loop_.add_accepting(fd_, this);
  if (!multishot_) loop_.add(fd_, io_events::readable, this);
}

void listener::end_burst() {
  in_burst_ = false;
  if (burst_dropped_ == 0) return;
  log("out of file descriptors for " + std::to_string(loop_.now_ms() - burst_start_ms_) +
      " ms: dropped " + std::to_string(burst_dropped_) + " connections");
}

void listener::no_delay(int fd) noexcept {
  if (nodelay_inherited_) return;
  if (!nodelay_checked_) {
    nodelay_checked_ = true;
    int on = 0;
    socklen_t len = sizeof on;
    nodelay_inherited_ = ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 && on != 0;
    if (nodelay_inherited_) return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on Unix
}

void listener::on_io(io_events) {
  if (!multishot_) return accept_ready();
  take_accepted();
  // A hook installed since (a test's) is seen from the next connection on; a paused listener
  // finds it when it resumes.
  if (multishot_ && fd_ >= 0 && io.accept4.load(std::memory_order_relaxed) != &::accept4) {
    multishot_ = false;
    if (pause_timer_ != 0) return;
    loop_.remove(fd_);
    loop_.add(fd_, io_events::readable, this);
  }
}

void listener::take_accepted() {
  int r = 0;
  while (fd_ >= 0 && multishot_ && loop_.next_accepted(fd_, r)) {
    if (r >= 0) {
      if (in_burst_) end_burst();
      hand_over(r, nullptr);
      continue;
    }
    // The accept ended with an error (the poller arms it again at the next wait).
    if (r == -EMFILE || r == -ENFILE) return accept_ready();  // drops and pauses, as below
    // Only a kernel that cannot accept this way sends accepting back to readiness, for good;
    // anything else (ENOMEM, a filter's EPERM, an aborted connection) passes.
    if (r != -EINVAL && r != -EBADF && r != -ENOTSOCK && r != -EOPNOTSUPP) continue;
    loop_.remove(fd_);
    multishot_ = false;
    loop_.add(fd_, io_events::readable, this);
    return;
  }
}

void listener::hand_over(int fd, const address* peer) {
  no_delay(fd);
  if (peer != nullptr || !want_peer_) {
    static const address none{};
    return on_accept_(fd, peer != nullptr ? *peer : none);
  }
  // The kernel's accept gave no address: asked for, one call instead of the accept4 it saved.
  address from;
  from.length = sizeof from.storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&from.storage), &from.length) != 0)
    from = address{};
  on_accept_(fd, from);
}

void listener::accept_ready() {
  // Bounded per wake-up so that a connection storm cannot starve established sockets.
  bool at_limit = false;
  bool closes_sent = false;
  for (int i = 0; i < 256 && fd_ >= 0; ++i) {
    address peer;
    peer.length = sizeof peer.storage;
    const int fd = sys::accept4(fd_, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                                SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Closes the loop queued for its next wait (io_uring) free descriptors: first those.
        if (!closes_sent) {
          closes_sent = true;
          if (loop_.submit()) continue;
        }
        if (!in_burst_) {
          in_burst_ = true;
          burst_dropped_ = 0;
          burst_start_ms_ = burst_logged_ms_ = loop_.now_ms();
        }
        at_limit = true;
        // One dropped (its peer gets a reset, not a timeout): a descriptor may be free again.
        if (shed_one()) continue;
        break;
      }
      // EAGAIN: a descriptor was free (Linux looks for one before the queue), so a burst is over.
      if (in_burst_ && (errno == EAGAIN || errno == EWOULDBLOCK)) end_burst();
      return;  // EAGAIN, or an error the next readiness will report again
    }
    at_limit = false;
    if (in_burst_) end_burst();
    hand_over(fd, &peer);
  }
  if (at_limit && fd_ >= 0) at_fd_limit();
}

}  // namespace duplex::net
