// io_uring for the loop: readiness through one-shot poll requests (armed again after each
// report, so the contract stays epoll's level-triggered one) and, for the sockets that ask,
// completions of multishot requests: receives into a ring of provided buffers (receiver.hpp),
// so that an echo costs no recv call, and accepts, so that a connection costs no accept4.
// Armings, cancellations and closes wait for the one io_uring_enter that also waits,
// except that a plain remove() submits what is queued at once, so that the close() its caller
// makes after it closes the socket. Completions: uring_completions.cpp.
#include "uring_poller.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "io_calls.hpp"

namespace duplex::net {
namespace {

static_assert(static_cast<std::uint32_t>(io_events::readable) == POLLIN);
static_assert(static_cast<std::uint32_t>(io_events::writable) == POLLOUT);
static_assert(static_cast<std::uint32_t>(io_events::error) == POLLERR);
static_assert(static_cast<std::uint32_t>(io_events::hangup) == POLLHUP);

// Sized for the completions in flight: at most one poll per descriptor plus the removals of
// an iteration; the kernel keeps any excess (IORING_FEAT_NODROP) until the next reap.
constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 8192;

}  // namespace

uring_poller::uring_poller(std::size_t max_events) : max_events_(max_events) {
  ready_.reserve(max_events);
}

uring_poller::~uring_poller() {
  if (open_) drain_on_exit();
}

uring_poller::slot& uring_poller::at(int fd) {
  if (fd < 0) throw std::system_error(EBADF, std::generic_category(), "io_uring poll");
  const auto i = static_cast<std::size_t>(fd);
  if (i >= slots_.size()) {
    const std::size_t n = std::max<std::size_t>(i + 1, slots_.size() * 2);
    // Taking a completion never allocates: reported_ holds a descriptor once at most.
    reported_.reserve(n);
    slots_.resize(n);
  }
  return slots_[i];
}

io_uring_sqe* uring_poller::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  // The submission queue is full: hand it to the kernel now, and there is room again.
  const int rc = io_uring_submit(&ring_);
  sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr)
    throw std::system_error(rc < 0 ? -rc : EBUSY, std::generic_category(), "io_uring_submit");
  return sqe;
}

void uring_poller::quietly(io_uring_sqe* sqe) noexcept {
  io_uring_sqe_set_data64(sqe, uring_ignored);
  // A completion would end the next wait at once, with nothing to report.
  if (skip_success_) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void uring_poller::arm_poll(int fd, slot& s, std::uint8_t mask) {
  io_uring_sqe* sqe = next_sqe();
  ++s.poll_arming;
  io_uring_prep_poll_add(sqe, fd, mask);
  io_uring_sqe_set_data64(sqe, uring_tag{fd, uring_op::poll, s.socket, s.poll_arming}.pack());
  s.poll_armed = true;
  s.poll_mask = mask;
}

void uring_poller::arm_shot(int fd, slot& s) {
  io_uring_sqe* sqe = next_sqe();
  ++s.shot_arming;
  uring_op kind = uring_op::receive;
  if (s.accepting) {
    kind = uring_op::accept;
    // No address: the kernel would write every connection's into the same place.
    io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } else {
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = receiver::group;
  }
  io_uring_sqe_set_data64(sqe, uring_tag{fd, kind, s.socket, s.shot_arming}.pack());
  s.shot_armed = true;
}

// Its completion, if one comes, carries an arming that is no longer the slot's.
void uring_poller::cancel(const uring_tag& t) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel64(sqe, t.pack(), 0);
  quietly(sqe);
}

void uring_poller::sync(int fd, slot& s) {
  const bool read = (s.interest & POLLIN) != 0;
  const bool write = (s.interest & POLLOUT) != 0;
  const bool shot = s.receiving || s.accepting;
  // A receiving socket needs a poll only to learn of write room, or of an error or hang-up
  // while it does not read (epoll reports those whatever the interest). A listener's errors
  // end its accept with the errno.
  const bool want_poll = !s.failed && !s.accepting && (!s.receiving || write || !read);
  const auto mask = static_cast<std::uint8_t>((shot ? (write ? POLLOUT : 0) : s.interest) |
                                              POLLERR | POLLHUP);
  if (s.poll_armed && (!want_poll || mask != s.poll_mask)) {
    cancel({fd, uring_op::poll, s.socket, s.poll_arming});
    s.poll_armed = false;
    ++s.poll_arming;
  }
  if (!s.poll_armed && want_poll) arm_poll(fd, s, mask);
  const bool want_shot = shot && read && !s.shot_over;
  if (s.shot_armed && !want_shot) {
    // Bytes it read before the cancellation still come, and are kept (as are descriptors it
    // accepted): only a completion that ends it is told apart by its arming.
    cancel({fd, s.accepting ? uring_op::accept : uring_op::receive, s.socket, s.shot_arming});
    s.shot_armed = false;
    ++s.shot_arming;
  }
  if (!s.shot_armed && want_shot) arm_shot(fd, s);
}

void uring_poller::start(int fd, io_events interest, io_handler* h, mode m) {
  slot& s = at(fd);
  if (m == mode::receive) input_->prepare(fd);  // before anything changes: it may throw
  // A number still registered belongs to a descriptor closed without remove(): epoll forgets
  // those by itself, io_uring keeps polling the old file until told.
  if (s.live) remove(fd);
  const std::uint16_t socket = s.socket + 1;
  const bool pending = s.pending;  // still in reported_, which holds a descriptor once
  s = slot{};
  s.socket = socket;
  s.pending = pending;
  s.handler = h;
  s.interest = static_cast<std::uint8_t>(static_cast<std::uint32_t>(interest) & (POLLIN | POLLOUT));
  s.live = true;
  s.receiving = m == mode::receive;
  s.accepting = m == mode::accept;
  sync(fd, s);
}

bool uring_poller::add_accepting(int fd, io_handler* h) {
  // Multishot accept (5.19) is older than multishot receive (6.0), which the receiver tried.
  if (!input_) return false;
  remove(fd);  // a stale registration, and its queue, first
  if (queue_of(fd) == nullptr) {
    accept_queue q{fd, {}, 0};
    q.results.reserve(accept_batch);  // filing a completion never allocates
    accepts_.push_back(std::move(q));
  }
  start(fd, io_events::readable, h, mode::accept);
  return true;
}

void uring_poller::modify(int fd, io_events interest, io_handler* h) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size() || !slots_[fd].live)
    throw std::system_error(ENOENT, std::generic_category(), "io_uring poll modify");
  slot& s = slots_[static_cast<std::size_t>(fd)];
  s.handler = h;
  s.interest = static_cast<std::uint8_t>(static_cast<std::uint32_t>(interest) & (POLLIN | POLLOUT));
  // Just reported: the next wait brings it in line, with whatever was asked by then.
  if (!s.pending) sync(fd, s);
}

void uring_poller::remove(int fd) noexcept {
  if (!forget(fd)) return;
  // A request holds the file: submit the cancellations now (this one's, and any queued since
  // the last wait) so that the caller's close() closes the socket at once, as under epoll.
  if (io_uring_sq_ready(&ring_) > 0) io_uring_submit(&ring_);
}

// The cancellations and the close go in one submission with the next wait: a request's hold on
// the file ends with its cancellation, and the number stays the socket's until the close runs,
// so no new socket can take it while a request for the old one is queued. IORING_OP_CLOSE runs
// in the submitting call for a socket (no flush method to punt to a worker).
void uring_poller::close(int fd) noexcept {
  if (fd < 0) return;
  forget(fd);
  io_uring_sqe* sqe = nullptr;
  try {
    sqe = next_sqe();
  } catch (...) {  // the ring refuses: closed at once, after what is queued
  }
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    ::close(fd);
    return;
  }
  io_uring_prep_close(sqe, fd);
  quietly(sqe);
}

// Cancels what is armed for `fd` and resets its slot; false if it was not registered.
bool uring_poller::forget(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return false;
  slot& s = slots_[static_cast<std::size_t>(fd)];
  if (!s.live) return false;
  try {
    if (s.poll_armed) cancel({fd, uring_op::poll, s.socket, s.poll_arming});
    if (s.shot_armed)
      cancel({fd, s.accepting ? uring_op::accept : uring_op::receive, s.socket, s.shot_arming});
  } catch (...) {  // no room to cancel: the ring's exit does it, and the stale tag is dropped
  }
  if (input_) input_->forget(fd);
  if (s.accepting) drop_queue(fd);
  const std::uint16_t socket = s.socket + 1;
  const bool pending = s.pending;  // still in reported_, which holds a descriptor once
  s = slot{};
  s.socket = socket;
  s.pending = pending;
  return true;
}

uring_poller::accept_queue* uring_poller::queue_of(int fd) noexcept {
  for (accept_queue& q : accepts_)
    if (q.fd == fd) return &q;
  return nullptr;
}

// Connections accepted for a listener that stopped listening: nobody will take them.
void uring_poller::drop_queue(int fd) noexcept {
  for (auto it = accepts_.begin(); it != accepts_.end(); ++it) {
    if (it->fd != fd) continue;
    for (std::size_t i = it->head; i < it->results.size(); ++i)
      if (it->results[i] >= 0) ::close(it->results[i]);
    accepts_.erase(it);
    return;
  }
}

bool uring_poller::next_accepted(int fd, int& result) noexcept {
  accept_queue* q = queue_of(fd);
  if (q == nullptr || q->head == q->results.size()) return false;
  result = q->results[q->head++];
  if (q->head == q->results.size()) {
    q->results.clear();
    q->head = 0;
  }
  return true;
}

bool uring_poller::open_receiver() {
  auto input = std::make_unique<receiver>();
  if (!input->open() || !input->attach(ring_)) return false;
  input_ = std::move(input);
  return true;
}

bool uring_poller::open(std::string& why) {
  if (const int refused = sys::uring_fault(); refused < 0) {
    why = std::string("io_uring_setup: ") + std::strerror(-refused);
    return false;
  }
  // COOP_TASKRUN (5.19): completions are processed when the loop enters the kernel, not by
  // interrupting it wherever it is.
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_COOP_TASKRUN;
  params.cq_entries = cq_entries;
  int rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
  if (rc == -EINVAL) {
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = cq_entries;
    rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
  }
  if (rc < 0) {
    why = std::string("io_uring_setup: ") + std::strerror(-rc);
    return false;
  }
  open_ = true;
  // Without NODROP a burst could lose readiness; without EXT_ARG a timed wait costs a timeout
  // request per iteration.
  const unsigned needed = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
  if ((params.features & needed) != needed) {
    why = "the kernel's io_uring lacks IORING_FEAT_NODROP or IORING_FEAT_EXT_ARG (5.11+)";
    return false;
  }
  skip_success_ = (params.features & IORING_FEAT_CQE_SKIP) != 0;
  // Without it, every stream reads through readiness, as the poll requests report it.
  open_receiver();
  // No io_uring_register_ring_fd: the registration belongs to one thread, and a loop may be
  // built on one thread and run on another.
  return true;
}

std::unique_ptr<poller> make_uring_poller(std::size_t max_events, std::string& why) {
  auto p = std::make_unique<uring_poller>(max_events);
  if (!p->open(why)) return nullptr;
  return p;
}

}  // namespace duplex::net
