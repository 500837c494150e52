// The io_uring poller's wait and what it does with each completion: readiness reports, input
// filed for its stream, accepted descriptors queued for their listener.
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "uring_poller.hpp"

namespace duplex::net {

void uring_poller::later(int fd, slot& s) noexcept {
  if (s.pending) return;
  s.pending = true;
  reported_.push_back(fd);
}

// One report per descriptor and wait: a socket's several completions add up.
void uring_poller::report(int fd, slot& s, io_events events) noexcept {
  if (s.epoch == epoch_) {
    ready_[s.ready_at].events = ready_[s.ready_at].events | events;
    return;
  }
  s.epoch = epoch_;
  s.ready_at = static_cast<std::uint32_t>(ready_.size());
  ready_.push_back({s.handler, events});
  (void)fd;
}

// Level-triggered: input a stream left unread, and connections a listener left untaken, are
// reported again. Input is first copied aside (its buffers go back to the kernel before it is
// asked for more).
void uring_poller::report_waiting() {
  accepts_full_ = false;
  for (accept_queue& q : accepts_) {
    if (q.head == q.results.size()) continue;
    slot& s = slots_[static_cast<std::size_t>(q.fd)];
    if (s.live && s.accepting && ready_.size() < max_events_) report(q.fd, s, io_events::readable);
    accepts_full_ = accepts_full_ || q.results.size() == accept_batch;
  }
  if (!input_) return;
  input_->set_aside();
  for (const int fd : input_->waiting()) {
    if (ready_.size() >= max_events_) break;  // the rest stay waiting, for the next wait
    slot& s = slots_[static_cast<std::size_t>(fd)];
    if (s.live && s.receiving && (s.interest & POLLIN) != 0) report(fd, s, io_events::readable);
  }
}

std::span<const ready_event> uring_poller::wait(int timeout_ms) {
  ++epoch_;
  ready_.clear();
  report_waiting();
  std::size_t done = 0;
  try {
    for (; done < reported_.size(); ++done) {
      const int fd = reported_[done];
      slot& s = slots_[static_cast<std::size_t>(fd)];
      if (s.live) sync(fd, s);
      s.pending = false;  // only once in line: one that failed stays listed, and pending
    }
  } catch (...) {
    reported_.erase(reported_.begin(), reported_.begin() + static_cast<std::ptrdiff_t>(done));
    throw;
  }
  reported_.clear();
  if (!ready_.empty()) timeout_ms = 0;
  int rc;
  if (timeout_ms == 0) {
    rc = io_uring_submit(&ring_);
  } else if (timeout_ms < 0) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000LL};
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
    throw std::system_error(-rc, std::generic_category(), "io_uring_enter");
  reap();
  return ready_;
}

void uring_poller::reap() {
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    // A full accept queue stops here too: the rest stay in the kernel until it is taken.
    if (ready_.size() >= max_events_ || accepts_full_) break;
    ++seen;
    take(*cqe);  // allocates nothing: each list has room made in advance
  }
  io_uring_cq_advance(&ring_, seen);
}

void uring_poller::take(const io_uring_cqe& cqe) noexcept {
  const bool buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  if (cqe.user_data == uring_ignored) return;
  const uring_tag t = uring_tag::unpack(cqe.user_data);
  const auto i = static_cast<std::size_t>(t.fd);
  if (t.fd >= 0 && i < slots_.size() && slots_[i].live && slots_[i].socket == t.socket) {
    slot& s = slots_[i];
    if (t.kind == uring_op::poll) return take_poll(t.fd, s, cqe);
    if (t.kind == uring_op::accept && s.accepting) return take_accept(t.fd, s, t, cqe);
    if (t.kind == uring_op::receive && s.receiving) return take_receive(t.fd, s, t, cqe);
  }
  // Nobody's: a buffer it carries goes back to the kernel, a connection it accepted is closed.
  if (buffer && input_) input_->recycle(id);
  if (t.kind == uring_op::accept && cqe.res >= 0) ::close(cqe.res);
}

void uring_poller::take_poll(int fd, slot& s, const io_uring_cqe& cqe) noexcept {
  const auto arming = uring_tag::unpack(cqe.user_data).arming;
  if (!s.poll_armed || (s.poll_arming & uring_tag::arming_mask) != arming) return;
  s.poll_armed = false;
  later(fd, s);
  if (cqe.res == -ECANCELED) return;  // not ours to cancel: simply armed again
  io_events events;
  if (cqe.res >= 0) {
    events = static_cast<io_events>(static_cast<std::uint32_t>(cqe.res) & s.poll_mask);
  } else {
    s.failed = true;  // a descriptor that cannot be polled: its handler learns it once
    events = io_events::error | io_events::hangup;
  }
  report(fd, s, events);
}

// Whether this completion ends the slot's current multishot request (which is then armed
// again at the next wait, if still wanted).
static bool ends_shot(const io_uring_cqe& cqe, std::uint16_t slot_arming,
                      const uring_tag& t) noexcept {
  return (cqe.flags & IORING_CQE_F_MORE) == 0 &&
         (slot_arming & uring_tag::arming_mask) == t.arming;
}

void uring_poller::take_receive(int fd, slot& s, const uring_tag& t,
                                const io_uring_cqe& cqe) noexcept {
  const bool reading = (s.interest & POLLIN) != 0;
  if (s.shot_armed && ends_shot(cqe, s.shot_arming, t)) {
    s.shot_armed = false;  // it ended (out of buffers, cancelled, the end): armed again later
    later(fd, s);
  }
  if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    // Kept even from a receive cancelled since: the kernel took these bytes off the socket.
    input_->on_data(fd, cqe.flags >> IORING_CQE_BUFFER_SHIFT, static_cast<std::size_t>(cqe.res));
    if (reading) report(fd, s, io_events::readable);
    return;
  }
  if (cqe.res == -ENOBUFS || cqe.res == -ECANCELED) return;
  if (cqe.res > 0) return;  // no buffer: cannot happen with IOSQE_BUFFER_SELECT
  // The end: FIN (0) or an error, reported after the input before it.
  s.shot_over = true;
  input_->on_end(fd);
  if (reading)
    report(fd, s, cqe.res == 0 ? io_events::readable : io_events::readable | io_events::error);
}

// A connection (kept even from an accept cancelled since: the kernel made the descriptor), or
// the errno that ended accepting (EMFILE, say), for the listener to take in order.
void uring_poller::take_accept(int fd, slot& s, const uring_tag& t,
                               const io_uring_cqe& cqe) noexcept {
  if (s.shot_armed && ends_shot(cqe, s.shot_arming, t)) {
    s.shot_armed = false;
    later(fd, s);
  }
  if (cqe.res == -ECANCELED) return;
  accept_queue* q = queue_of(fd);
  if (q == nullptr || q->results.size() == q->results.capacity()) {  // cannot be: reap stops
    if (cqe.res >= 0) ::close(cqe.res);
    return;
  }
  q->results.push_back(cqe.res);
  if (q->results.size() == accept_batch) accepts_full_ = true;
  report(fd, s, io_events::readable);
}

// Whatever is still queued goes to the kernel (closes above all), and descriptors accepted for
// nobody are closed, before the ring goes.
void uring_poller::drain_on_exit() noexcept {
  while (!accepts_.empty())
    drop_queue(accepts_.front().fd);
  io_uring_submit(&ring_);
  // Completions the kernel kept aside while the queue was full come in as it empties.
  for (unsigned seen = 1; seen > 0;) {
    io_uring_get_events(&ring_);
    unsigned head;
    io_uring_cqe* cqe;
    seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      if (cqe->user_data == uring_ignored) continue;
      const uring_tag t = uring_tag::unpack(cqe->user_data);
      if (t.kind == uring_op::accept && cqe->res >= 0) ::close(cqe->res);
    }
    io_uring_cq_advance(&ring_, seen);
  }
  io_uring_queue_exit(&ring_);
}

}  // namespace duplex::net
