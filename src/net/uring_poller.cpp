// io_uring for the loop: readiness through one-shot poll requests (armed again after each
// report, so the contract stays epoll's level-triggered one) and, for the streams that ask,
// input through multishot receives into a ring of provided buffers (receiver.hpp): the kernel
// reads as bytes come, and the one io_uring_enter that waits also reports them, so an echo
// costs no recv call. Armings and cancellations wait for that same call, except that a
// remove() submits what is queued at once, so that the close() after it closes the socket.
#include <liburing.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "io_calls.hpp"
#include "poller.hpp"
#include "receiver.hpp"

namespace duplex::net {
namespace {

static_assert(static_cast<std::uint32_t>(io_events::readable) == POLLIN);
static_assert(static_cast<std::uint32_t>(io_events::writable) == POLLOUT);
static_assert(static_cast<std::uint32_t>(io_events::error) == POLLERR);
static_assert(static_cast<std::uint32_t>(io_events::hangup) == POLLHUP);

// A completion whose result nobody needs (a cancellation).
constexpr std::uint64_t ignored = ~std::uint64_t{0};

// Sized for the completions in flight: at most one poll per descriptor plus the removals of
// an iteration; the kernel keeps any excess (IORING_FEAT_NODROP) until the next reap.
constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 8192;

enum class op : std::uint32_t { poll = 0, receive = 1 };

// A request's user_data: the descriptor, the operation, which socket held the number (so that
// a report for a socket closed since is dropped) and which arming it was (so that a poll
// re-armed with a new mask drops the old one's report).
struct tag {
  int fd;
  op kind;
  std::uint16_t socket;
  std::uint16_t arming;

  std::uint64_t pack() const noexcept {
    return static_cast<std::uint32_t>(fd) |
           (std::uint64_t{static_cast<std::uint32_t>(kind)} << 32) | (std::uint64_t{socket} << 33) |
           (std::uint64_t{arming & 0x7fffu} << 49);
  }
  static tag unpack(std::uint64_t v) noexcept {
    return {static_cast<int>(static_cast<std::uint32_t>(v)), static_cast<op>((v >> 32) & 1),
            static_cast<std::uint16_t>(v >> 33), static_cast<std::uint16_t>((v >> 49) & 0x7fff)};
  }
};

}  // namespace

namespace {

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

  void add(int fd, io_events interest, io_handler* h) override { start(fd, interest, h, false); }
  bool add_receiving(int fd, io_events interest, io_handler* h) override {
    if (!input_) return false;
    start(fd, interest, h, true);
    return true;
  }
  void modify(int fd, io_events interest, io_handler* h) override;
  void remove(int fd) noexcept override;
  std::span<const ready_event> wait(int timeout_ms) override;
  receiver* input() noexcept override { return input_.get(); }

 private:
  // 32 bytes: the table is indexed by descriptor, so it costs this much per open socket.
  struct slot {
    io_handler* handler = nullptr;
    std::uint32_t epoch = 0;     // the wait whose ready_ holds this descriptor's report...
    std::uint32_t ready_at = 0;  // ...at this index
    std::uint16_t socket = 0;    // which socket holds the number: counts add()s and remove()s
    std::uint16_t poll_arming = 0;
    std::uint16_t receive_arming = 0;
    std::uint8_t interest = 0;   // POLLIN and POLLOUT, as asked
    std::uint8_t poll_mask = 0;  // the mask of the poll in the kernel
    bool live : 1 = false;
    bool receiving : 1 = false;  // input comes as completions, not as readiness
    bool poll_armed : 1 = false;
    bool receive_armed : 1 = false;
    bool failed : 1 = false;        // the kernel refused to poll it: reported once, not armed again
    bool receive_over : 1 = false;  // the receive reported the end (FIN or an error)
    bool pending : 1 = false;       // in reported_: brought in line at the next wait
  };
  static_assert(POLLIN < 256 && POLLOUT < 256 && POLLERR < 256 && POLLHUP < 256);

  slot& at(int fd);
  io_uring_sqe* next_sqe();
  void start(int fd, io_events interest, io_handler* h, bool receiving);
  // Arms or cancels the requests so that they match what the slot asks for.
  void sync(int fd, slot& s);
  void arm_poll(int fd, slot& s, std::uint8_t mask);
  void arm_receive(int fd, slot& s);
  void cancel(const tag& t);
  void later(int fd, slot& s) noexcept;
  void report(int fd, slot& s, io_events events) noexcept;
  void reap();
  void take(const io_uring_cqe& cqe) noexcept;
  void take_poll(int fd, slot& s, const io_uring_cqe& cqe) noexcept;
  void take_receive(int fd, slot& s, const tag& t, const io_uring_cqe& cqe) noexcept;
  bool open_receiver();

  io_uring ring_{};
  bool open_ = false;
  std::size_t max_events_;
  std::uint32_t epoch_ = 0;
  std::vector<slot> slots_;    // by descriptor
  std::vector<int> reported_;  // reported by the last wait, brought in line by the next
  std::vector<ready_event> ready_;
  std::unique_ptr<receiver> input_;  // null when the kernel cannot receive this way
};

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

void uring_poller::arm_poll(int fd, slot& s, std::uint8_t mask) {
  io_uring_sqe* sqe = next_sqe();
  ++s.poll_arming;
  io_uring_prep_poll_add(sqe, fd, mask);
  io_uring_sqe_set_data64(sqe, tag{fd, op::poll, s.socket, s.poll_arming}.pack());
  s.poll_armed = true;
  s.poll_mask = mask;
}

void uring_poller::arm_receive(int fd, slot& s) {
  io_uring_sqe* sqe = next_sqe();
  ++s.receive_arming;
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = receiver::group;
  io_uring_sqe_set_data64(sqe, tag{fd, op::receive, s.socket, s.receive_arming}.pack());
  s.receive_armed = true;
}

// Its completion, if one comes, carries an arming that is no longer the slot's.
void uring_poller::cancel(const tag& t) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel64(sqe, t.pack(), 0);
  io_uring_sqe_set_data64(sqe, ignored);
}

void uring_poller::sync(int fd, slot& s) {
  const bool read = (s.interest & POLLIN) != 0;
  const bool write = (s.interest & POLLOUT) != 0;
  // A receiving socket needs a poll only to learn of write room, or of an error or hang-up
  // while it does not read (epoll reports those whatever the interest).
  const bool want_poll = !s.failed && (!s.receiving || write || !read);
  const auto mask = static_cast<std::uint8_t>((s.receiving ? (write ? POLLOUT : 0) : s.interest) |
                                              POLLERR | POLLHUP);
  if (s.poll_armed && (!want_poll || mask != s.poll_mask)) {
    cancel({fd, op::poll, s.socket, s.poll_arming});
    s.poll_armed = false;
    ++s.poll_arming;
  }
  if (!s.poll_armed && want_poll) arm_poll(fd, s, mask);
  const bool want_receive = s.receiving && read && !s.receive_over;
  if (s.receive_armed && !want_receive) {
    // Bytes it read before the cancellation still come, and are kept: only a completion that
    // ends it is told apart by its arming.
    cancel({fd, op::receive, s.socket, s.receive_arming});
    s.receive_armed = false;
    ++s.receive_arming;
  }
  if (!s.receive_armed && want_receive) arm_receive(fd, s);
}

void uring_poller::start(int fd, io_events interest, io_handler* h, bool receiving) {
  slot& s = at(fd);
  if (receiving) input_->prepare(fd);  // before anything changes: it may throw
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
  s.receiving = receiving;
  sync(fd, s);
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
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return;
  slot& s = slots_[static_cast<std::size_t>(fd)];
  if (!s.live) return;
  try {
    if (s.poll_armed) cancel({fd, op::poll, s.socket, s.poll_arming});
    if (s.receive_armed) cancel({fd, op::receive, s.socket, s.receive_arming});
  } catch (...) {  // no room to cancel: the ring's exit does it, and the stale tag is dropped
  }
  if (input_) input_->forget(fd);
  const std::uint16_t socket = s.socket + 1;
  const bool pending = s.pending;  // still in reported_, which holds a descriptor once
  s = slot{};
  s.socket = socket;
  s.pending = pending;
  // A request holds the file: submit the cancellations now (this one's, and any queued since
  // the last wait) so that the caller's close() closes the socket at once, as under epoll.
  if (io_uring_sq_ready(&ring_) > 0) io_uring_submit(&ring_);
}

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

std::span<const ready_event> uring_poller::wait(int timeout_ms) {
  ++epoch_;
  ready_.clear();
  if (input_) {
    // Input a stream left unread last time is copied aside (its buffers go back to the kernel
    // before it is asked for more), and reported again while the stream reads: level-triggered.
    input_->set_aside();
    for (const int fd : input_->waiting()) {
      if (ready_.size() >= max_events_) break;  // the rest stay waiting, for the next wait
      slot& s = slots_[static_cast<std::size_t>(fd)];
      if (s.live && s.receiving && (s.interest & POLLIN) != 0) report(fd, s, io_events::readable);
    }
  }
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
    if (ready_.size() >= max_events_) break;
    ++seen;
    take(*cqe);  // allocates nothing: each list has room made in advance
  }
  io_uring_cq_advance(&ring_, seen);
}

void uring_poller::take(const io_uring_cqe& cqe) noexcept {
  const bool buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  if (cqe.user_data != ignored) {
    const tag t = tag::unpack(cqe.user_data);
    const auto i = static_cast<std::size_t>(t.fd);
    if (t.fd >= 0 && i < slots_.size() && slots_[i].live && slots_[i].socket == t.socket) {
      if (t.kind == op::poll) return take_poll(t.fd, slots_[i], cqe);
      return take_receive(t.fd, slots_[i], t, cqe);
    }
  }
  // Nobody's: a buffer it carries goes back to the kernel.
  if (buffer && input_) input_->recycle(id);
}

void uring_poller::take_poll(int fd, slot& s, const io_uring_cqe& cqe) noexcept {
  if (!s.poll_armed || (s.poll_arming & 0x7fff) != tag::unpack(cqe.user_data).arming) return;
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

void uring_poller::take_receive(int fd, slot& s, const tag& t, const io_uring_cqe& cqe) noexcept {
  const bool reading = (s.interest & POLLIN) != 0;
  if ((cqe.flags & IORING_CQE_F_MORE) == 0 && s.receive_armed &&
      (s.receive_arming & 0x7fff) == t.arming) {
    s.receive_armed = false;  // it ended (out of buffers, cancelled, the end): armed again later
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
  s.receive_over = true;
  input_->on_end(fd);
  if (reading)
    report(fd, s, cqe.res == 0 ? io_events::readable : io_events::readable | io_events::error);
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
  // Without it, every stream reads through readiness, as the poll requests report it.
  open_receiver();
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
