// The seam between the event loop and the kernel's readiness interface (epoll, io_uring).
// Internal: not installed.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "duplex/net/event_loop.hpp"

namespace duplex::net {

class receiver;

// One readiness report, for the loop to hand to its handler.
struct ready_event {
  io_handler* handler;
  io_events events;
};

// Both backends keep epoll's level-triggered contract: a descriptor stays reported for as long
// as it is ready and watched, so a handler may read a little and come back on the next wait.
// Errors and hang-ups are reported whatever the interest.
class poller {
 public:
  virtual ~poller() = default;
  virtual void add(int fd, io_events interest, io_handler* h) = 0;
  virtual void modify(int fd, io_events interest, io_handler* h) = 0;
  // Once it returns, no readiness of `fd` is reported and the kernel holds no reference to the
  // descriptor's file: a close() right after it closes the socket.
  virtual void remove(int fd) noexcept = 0;
  // Waits up to timeout_ms (-1: without limit, 0: not at all) and returns at most max_events
  // reports, valid until the next call. A signal ends the wait with none.
  virtual std::span<const ready_event> wait(int timeout_ms) = 0;

  // Completion-based input (io_uring): a descriptor added this way has its bytes read by the
  // kernel as they come and filed in input(); `readable` then means "input (or its end) is
  // there", and the owner takes it from input() instead of calling recv. False when the backend
  // offers only readiness: the caller add()s it instead.
  virtual bool add_receiving(int, io_events, io_handler*) { return false; }
  virtual receiver* input() noexcept { return nullptr; }

  // Completion-based accepting (io_uring's multishot accept) for listening socket `fd`: the
  // kernel accepts connections as they come and files each new descriptor, or the negative
  // errno that ended accepting, for next_accepted(); `readable` then means "something is
  // filed". False when the backend offers only readiness: the caller add()s it instead.
  virtual bool add_accepting(int, io_handler*) { return false; }
  virtual bool next_accepted(int, int&) noexcept { return false; }

  // remove() and close(2). io_uring queues the close behind the cancellations it needs, for
  // the next submission (the iteration's wait): the caller's number stays taken until then.
  virtual void close(int fd) noexcept;
  // Hands the kernel what is queued for the next wait (closes, armings) now; false when
  // nothing was queued.
  virtual bool submit() noexcept { return false; }
};

std::unique_ptr<poller> make_epoll_poller(std::size_t max_events);
// Null when the kernel refuses io_uring or lacks a feature it needs; `why` then says which.
std::unique_ptr<poller> make_uring_poller(std::size_t max_events, std::string& why);

}  // namespace duplex::net
