// A non-blocking listening socket that accepts until the kernel says "no more", and survives
// running out of file descriptors.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "duplex/net/address.hpp"
#include "duplex/net/event_loop.hpp"

namespace duplex::net {

/// Where a Unix-domain listener goes. A socket file that nothing accepts on any more (left by a
/// process that died) is removed first when unlink_stale is set; a live socket, or a file that
/// is not a socket, is never touched and makes the listener throw.
struct unix_listen_options {
  std::string path;          ///< the socket file
  unsigned mode = 0660;      ///< the socket file's permissions: who may connect
  bool unlink_stale = true;  ///< remove a dead socket file left at `path`
};

/// A listening socket (TCP or Unix-domain) on a loop, accepting every pending connection on
/// readiness.
class listener final : public io_handler {
 public:
  /// Called with each accepted, non-blocking socket (TCP_NODELAY set) and its peer (empty,
  /// length 0, when peer addresses are not wanted and the kernel accepted without one).
  using accept_fn = std::function<void(int fd, const address& peer)>;

  /// Binds and listens (SO_REUSEPORT when `reuse_port`); throws std::system_error on failure.
  listener(event_loop& loop, const address& bind_to, bool reuse_port, accept_fn on_accept,
           int backlog = 1024);
  /// A Unix-domain socket; its file is removed again when this listener closes. Throws
  /// std::system_error on failure, as for a live socket or a file that is not a socket there.
  listener(event_loop& loop, const unix_listen_options& where, accept_fn on_accept,
           int backlog = 1024);
  /// Another loop's share of `first`'s socket, for one that SO_REUSEPORT cannot spread (a
  /// Unix-domain socket): each sharing loop races to accept, and one wins each connection.
  listener(event_loop& loop, const listener& first, accept_fn on_accept);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// Whether some socket listens on the address already. Every listener of a process that
  /// shares a port through SO_REUSEPORT must set it, so a probe without it fails when any does:
  /// a second process asks this before joining a port and splitting its traffic unseen.
  static bool in_use(const address& a);

  /// The port bound (the chosen one for port 0).
  std::uint16_t port() const noexcept { return port_; }
  /// Stops listening (also done by the destructor).
  void close() noexcept;
  /// Accepted connections dropped because the process had no file descriptor left.
  std::uint64_t dropped_for_fd_limit() const noexcept { return dropped_; }
  /// Whether the kernel accepts connections as they come (io_uring's multishot accept), rather
  /// than accept4 on readiness.
  bool kernel_accepts() const noexcept { return multishot_; }
  /// Whether accepting is paused at the descriptor limit.
  bool paused() const noexcept { return pause_timer_ != 0; }

  /// With io_uring the kernel accepts connections as they come, without their addresses: a
  /// listener whose handler does not use the peer it is given says so here, and saves a
  /// getpeername per connection (the peer is then empty, length 0, on io_uring). With epoll the
  /// address comes with accept4 and is always given.
  void want_peer_address(bool wanted) noexcept { want_peer_ = wanted; }

  /// Where the one line per burst at the descriptor limit goes (by default stderr).
  void on_log(std::function<void(std::string_view)> fn) { log_ = std::move(fn); }
  /// How long accepting stops once the process is out of descriptors.
  static constexpr std::chrono::milliseconds fd_limit_pause{100};

  /// Accepts what is pending.
  void on_io(io_events events) override;

 private:
  // Registers the socket: accepted by the kernel (io_uring), or readiness and accept4.
  void watch();
  // Readiness: accept4 until the kernel has none (or the descriptor limit).
  void accept_ready();
  // io_uring: the connections the kernel accepted, in order.
  void take_accepted();
  void hand_over(int fd, const address* peer);
  /// Accepts and closes one pending connection; false if none was pending.
  bool shed_one() noexcept;
  // Out of descriptors with nothing left to drop: stops asking the kernel for a while.
  void at_fd_limit();
  void resume();
  void end_burst();
  // TCP_NODELAY on an accepted socket: inherited from the listener (checked once), else set.
  void no_delay(int fd) noexcept;
  void log(const std::string& line) const;

  event_loop& loop_;
  int fd_ = -1;
  int reserve_fd_ = -1;      ///< kept open so that, at EMFILE, one can be freed to accept-and-close
  std::string unlink_path_;  ///< the Unix-domain socket file this listener made
  std::uint16_t port_ = 0;
  std::uint64_t dropped_ = 0;
  // A burst at the descriptor limit: from the first EMFILE to an accept that works again.
  bool nodelay_checked_ = false;
  bool nodelay_inherited_ = false;
  bool in_burst_ = false;
  bool multishot_ = false;  // the kernel accepts (io_uring), not accept4 on readiness
  bool want_peer_ = true;
  std::uint64_t burst_dropped_ = 0;
  std::uint64_t burst_start_ms_ = 0;
  std::uint64_t burst_logged_ms_ = 0;
  timer_id pause_timer_ = 0;
  accept_fn on_accept_;
  std::function<void(std::string_view)> log_;
};

}  // namespace duplex::net
