// Readiness through io_uring: one-shot poll requests, armed again after each report, so that
// the contract stays epoll's level-triggered one while the arming of every descriptor reported
// in an iteration goes to the kernel in the single io_uring_enter of the next wait.
#include <liburing.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "io_calls.hpp"
#include "poller.hpp"

namespace duplex::net {
namespace {

static_assert(static_cast<std::uint32_t>(io_events::readable) == POLLIN);
static_assert(static_cast<std::uint32_t>(io_events::writable) == POLLOUT);
static_assert(static_cast<std::uint32_t>(io_events::error) == POLLERR);
static_assert(static_cast<std::uint32_t>(io_events::hangup) == POLLHUP);

// A completion whose result nobody needs (a poll removal).
constexpr std::uint64_t ignored = ~std::uint64_t{0};

// Sized for the completions in flight: at most one poll per descriptor plus the removals of
// an iteration; the kernel keeps any excess (IORING_FEAT_NODROP) until the next reap.
constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 8192;

class uring_poller final : public poller {
 public:
  explicit uring_poller(std::size_t max_events) : max_events_(max_events) {
    ready_.reserve(max_events);
  }
  ~uring_poller() override {
    if (open_) io_uring_queue_exit(&ring_);
  }
  // False, with the reason in `why`, when the kernel refuses.
  bool open(std::string& why);

  void add(int fd, io_events interest, io_handler* h) override;
  void modify(int fd, io_events interest, io_handler* h) override;
  void remove(int fd) noexcept override;
  std::span<const ready_event> wait(int timeout_ms) override;

 private:
  // What the loop registered for a descriptor. A request's user_data carries the descriptor
  // and the generation it was armed in, so that a report from before a remove(), or from
  // before the descriptor's number was reused, is recognised and dropped.
  struct slot {
    io_handler* handler = nullptr;
    std::uint32_t generation = 0;
    std::uint16_t mask = 0;
    bool live = false;
    bool armed = false;   // a poll request is in the kernel
    bool failed = false;  // the kernel refused to poll it: reported once, not armed again
  };

  static std::uint64_t tag(int fd, std::uint32_t generation) noexcept {
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
  }
  static std::uint16_t poll_mask(io_events interest) noexcept {
    return static_cast<std::uint16_t>(static_cast<std::uint32_t>(interest) | POLLERR | POLLHUP);
  }
  slot& at(int fd);
  io_uring_sqe* next_sqe();
  void arm(int fd, slot& s);
  void disarm(int fd, slot& s);
  void reap();
  void take(const io_uring_cqe& cqe);

  io_uring ring_{};
  bool open_ = false;
  std::size_t max_events_;
  std::vector<slot> slots_;    // by descriptor
  std::vector<int> reported_;  // reported by the last wait, armed again by the next
  std::vector<ready_event> ready_;
};

uring_poller::slot& uring_poller::at(int fd) {
  if (fd < 0) throw std::system_error(EBADF, std::generic_category(), "io_uring poll");
  const auto i = static_cast<std::size_t>(fd);
  if (i >= slots_.size()) slots_.resize(std::max<std::size_t>(i + 1, slots_.size() * 2));
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

void uring_poller::arm(int fd, slot& s) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_poll_add(sqe, fd, s.mask);
  io_uring_sqe_set_data64(sqe, tag(fd, s.generation));
  s.armed = true;
}

// Cancels the request in the kernel; its completion, if any, carries a stale generation.
void uring_poller::disarm(int fd, slot& s) {
  if (s.armed) {
    io_uring_sqe* sqe = next_sqe();
    io_uring_prep_poll_remove(sqe, tag(fd, s.generation));
    io_uring_sqe_set_data64(sqe, ignored);
  }
  s.armed = false;
  ++s.generation;
}

void uring_poller::add(int fd, io_events interest, io_handler* h) {
  slot& s = at(fd);
  // A number still registered belongs to a descriptor closed without remove(): epoll forgets
  // those by itself, io_uring keeps polling the old file until told.
  if (s.live) disarm(fd, s);
  s.handler = h;
  s.mask = poll_mask(interest);
  s.live = true;
  s.failed = false;
  arm(fd, s);
}

void uring_poller::modify(int fd, io_events interest, io_handler* h) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size() || !slots_[fd].live)
    throw std::system_error(ENOENT, std::generic_category(), "io_uring poll modify");
  slot& s = slots_[static_cast<std::size_t>(fd)];
  s.handler = h;
  const std::uint16_t mask = poll_mask(interest);
  if (mask == s.mask) return;
  s.mask = mask;
  // Not armed: it was just reported, and the next wait arms it with the new mask.
  if (!s.armed || s.failed) return;
  disarm(fd, s);
  arm(fd, s);
}

void uring_poller::remove(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return;
  slot& s = slots_[static_cast<std::size_t>(fd)];
  if (!s.live) return;
  const bool was_armed = s.armed;
  try {
    disarm(fd, s);
  } catch (...) {  // no room to cancel: the ring's exit does it, and the stale tag is dropped
  }
  s = slot{nullptr, s.generation};
  // The poll request holds the file: submit the removal now so that the caller's close()
  // closes the socket at once, as it would under epoll.
  if (was_armed) io_uring_submit(&ring_);
}

std::span<const ready_event> uring_poller::wait(int timeout_ms) {
  for (const int fd : reported_) {
    slot& s = slots_[static_cast<std::size_t>(fd)];
    if (s.live && !s.armed && !s.failed) arm(fd, s);
  }
  reported_.clear();
  ready_.clear();
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
    ++seen;
    take(*cqe);
    if (ready_.size() >= max_events_) break;
  }
  io_uring_cq_advance(&ring_, seen);
}

void uring_poller::take(const io_uring_cqe& cqe) {
  if (cqe.user_data == ignored) return;
  const auto fd = static_cast<std::uint32_t>(cqe.user_data);
  const auto generation = static_cast<std::uint32_t>(cqe.user_data >> 32);
  if (fd >= slots_.size()) return;
  slot& s = slots_[fd];
  if (!s.live || s.generation != generation || !s.armed) return;
  s.armed = false;
  io_events events;
  if (cqe.res >= 0) {
    events = static_cast<io_events>(static_cast<std::uint32_t>(cqe.res) & s.mask);
  } else if (cqe.res == -ECANCELED) {
    reported_.push_back(static_cast<int>(fd));  // not ours to cancel: simply armed again
    return;
  } else {
    s.failed = true;  // a descriptor that cannot be polled: its handler learns it once
    events = io_events::error | io_events::hangup;
  }
  ready_.push_back({s.handler, events});
  reported_.push_back(static_cast<int>(fd));
}

bool uring_poller::open(std::string& why) {
  if (const int refused = sys::uring_fault(); refused < 0) {
    why = std::string("io_uring_setup: ") + std::strerror(-refused);
    return false;
  }
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  params.cq_entries = cq_entries;
  if (const int rc = io_uring_queue_init_params(sq_entries, &ring_, &params); rc < 0) {
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
  // No io_uring_register_ring_fd: the registration belongs to one thread, and a loop may be
  // built on one thread and run on another.
  return true;
}

}  // namespace

std::unique_ptr<poller> make_uring_poller(std::size_t max_events, std::string& why) {
  auto p = std::make_unique<uring_poller>(max_events);
  if (!p->open(why)) return nullptr;
  return p;
}

}  // namespace duplex::net
