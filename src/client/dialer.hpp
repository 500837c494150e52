// Happy eyeballs (RFC 8305): connection attempts to each address in turn, the next one started
// when the last fails or after the attempt delay, the first connected socket kept and the
// others closed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "duplex/net/address.hpp"
#include "duplex/net/event_loop.hpp"

namespace duplex::detail {

class dialer {
 public:
  // A connected, non-blocking socket no longer registered with the loop, or -1 and why not.
  using done_fn = std::function<void(int fd, std::string error)>;

  dialer(net::event_loop& loop, std::chrono::milliseconds attempt_delay)
      : loop_(loop), delay_(attempt_delay) {}
  ~dialer() { cancel(); }
  dialer(const dialer&) = delete;
  dialer& operator=(const dialer&) = delete;

  // Loop thread. `done` runs once, from the loop, unless cancel() comes first.
  void start(std::vector<net::address> addresses, done_fn done);
  // Closes every attempt under way.
  void cancel() noexcept;

 private:
  struct attempt;
  void next();
  void settle(attempt& a, int err);
  void drop(attempt& a) noexcept;
  void finish(int fd, std::string error);

  net::event_loop& loop_;
  std::chrono::milliseconds delay_;
  std::vector<net::address> addresses_;
  std::size_t next_ = 0;
  std::vector<std::shared_ptr<attempt>> live_;
  net::timer_id timer_ = 0;
  std::string last_error_;
  done_fn done_;
};

}  // namespace duplex::detail
