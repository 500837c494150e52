#include "duplex/net/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

#include "poller.hpp"
#include "send_batch.hpp"

namespace duplex::net {
namespace {

std::uint64_t monotonic_ms() noexcept {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// The backend `automatic` stands for: DUPLEX_IO's, else epoll.
io_backend from_environment() noexcept {
  const char* v = std::getenv("DUPLEX_IO");
  io_backend b = io_backend::automatic;
  if (v == nullptr || !parse_io_backend(v, b) || b == io_backend::automatic)
    return io_backend::epoll;
  return b;
}

// A process with many loops on a kernel that refuses io_uring says so once, not once a loop.
void report_fallback(const std::string& why) {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  std::fprintf(stderr, "duplex: io_uring unavailable (%s), using epoll\n", why.c_str());
}

std::unique_ptr<poller> open_poller(const loop_options& opts, io_backend& chosen) {
  const io_backend want = opts.io == io_backend::automatic ? from_environment() : opts.io;
  if (want == io_backend::uring) {
    std::string why;
    if (auto p = make_uring_poller(opts.max_events, why)) {
      chosen = io_backend::uring;
      return p;
    }
    report_fallback(why);
  }
  chosen = io_backend::epoll;
  return make_epoll_poller(opts.max_events);
}

}  // namespace

bool parse_io_backend(std::string_view text, io_backend& out) noexcept {
  if (text == "auto") {
    out = io_backend::automatic;
  } else if (text == "epoll") {
    out = io_backend::epoll;
  } else if (text == "uring" || text == "io_uring") {
    out = io_backend::uring;
  } else {
    return false;
  }
  return true;
}

std::string_view to_string(io_backend b) noexcept {
  switch (b) {
    case io_backend::epoll:
      return "epoll";
    case io_backend::uring:
      return "uring";
    case io_backend::automatic:
      break;
  }
  return "auto";
}

// The eventfd that wakes the poller's wait when another thread posts work or stops the loop.
class event_loop::waker final : public io_handler {
 public:
  waker() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw_errno("eventfd");
  }
  ~waker() { ::close(fd_); }
  int fd() const noexcept { return fd_; }
  void wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  void on_io(io_events) override {
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(fd_, &v, sizeof v);
  }

 private:
  int fd_;
};

// One piece of work that throws must not take every other connection of the loop down with it:
// the loop is the last place an exception can be stopped before std::terminate.
template <class F>
void event_loop::guarded(F&& f) noexcept {
  try {
    f();
  } catch (...) {
    report_exception(std::current_exception());
  }
}

event_loop::event_loop(loop_options opts)
    : poller_(open_poller(opts, backend_)),
      waker_(std::make_unique<waker>()),
      buffer_(std::make_unique<char[]>(opts.receive_buffer_bytes)),
      buffer_size_(opts.receive_buffer_bytes) {
  add(waker_->fd(), io_events::readable, waker_.get());
  update_clock();
  input_ = poller_->input();
  if (backend_ == io_backend::uring || opts.batch_sends) batch_ = send_batch::open();
}

event_loop::~event_loop() {
  flush_sends();
  // The waker goes first and unregisters itself while the poller still stands.
  if (waker_) remove(waker_->fd());
}

void event_loop::wrong_thread(const char* call) {
  throw std::logic_error(std::string("duplex: ") + call +
                         " called from a thread other than its event loop's (use post(), or "
                         "websocket::handle() to send from another thread)");
}

void event_loop::add(int fd, io_events interest, io_handler* h) {
  expect_owner("event_loop::add");
  poller_->add(fd, interest, h);
}

bool event_loop::add_receiving(int fd, io_events interest, io_handler* h) {
  expect_owner("event_loop::add");
  return poller_->add_receiving(fd, interest, h);
}

bool event_loop::add_accepting(int fd, io_handler* h) {
  expect_owner("event_loop::add");
  return poller_->add_accepting(fd, h);
}

bool event_loop::next_accepted(int fd, int& result) noexcept {
  return poller_->next_accepted(fd, result);
}

void event_loop::close(int fd) noexcept {
  if (running_) return poller_->close(fd);
  // Outside run() no wait may come soon: closed now, as the caller would expect.
  poller_->remove(fd);
  ::close(fd);
}

bool event_loop::submit() noexcept {
  return poller_->submit();
}

void event_loop::modify(int fd, io_events interest, io_handler* h) {
  expect_owner("event_loop::modify");
  poller_->modify(fd, interest, h);
}

void event_loop::remove(int fd) noexcept {
  poller_->remove(fd);
}

// The iteration's writes, in one system call; an exception from a stream's answer to its
// outcome (an allocation in its queue) is the loop's to report, as from any handler.
void event_loop::flush_sends() noexcept {
  if (batch_) guarded([&] { batch_->flush(); });
}

void event_loop::update_clock() noexcept {
  now_ms_ = monotonic_ms();
}

int event_loop::wait_timeout() const noexcept {
  if (due_.empty()) return -1;
  const std::uint64_t due = due_.begin()->first;
  return due <= now_ms_ ? 0 : static_cast<int>(std::min<std::uint64_t>(due - now_ms_, 60'000));
}

void event_loop::run() {
  thread_ = std::this_thread::get_id();
  // Closes queued by the last iteration go to the kernel when run() returns (or throws), not
  // at the next run().
  struct running_scope {
    event_loop& loop;
    explicit running_scope(event_loop& l) : loop(l) { loop.running_ = true; }
    ~running_scope() {
      loop.running_ = false;
      loop.poller_->submit();
    }
  } scope(*this);
  // Iteration order: wait, dispatch readiness in kernel order, run posted work, run due timers,
  // then the iteration-end hooks (which flush corked writes and free closed sockets).
  while (!stopped_.load(std::memory_order_acquire)) {
    flush_sends();  // writes made before run(), or between two runs
    const std::span<const ready_event> ready = poller_->wait(wait_timeout());
    update_clock();
    for (const ready_event& r : ready)
      guarded([&] { r.handler->on_io(r.events); });
    run_posted();
    run_timers();
    for (auto& fn : iteration_end_)
      guarded(fn);
    flush_sends();
  }
  run_posted();
  flush_sends();
  // The stop is spent: a later run() runs again (tests step a loop through phases this way).
  stopped_.store(false, std::memory_order_release);
}

void event_loop::stop() noexcept {
  stopped_.store(true, std::memory_order_release);
  waker_->wake();
}

void event_loop::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(post_mutex_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
    posted_pending_.store(true, std::memory_order_release);
  }
  // One wake-up per batch: later posts find the queue non-empty and skip the syscall.
  if (was_empty) waker_->wake();
}

void event_loop::run_posted() {
  // A post that this load misses has woken the loop (or will): the next iteration runs it.
  if (!posted_pending_.load(std::memory_order_acquire)) return;
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(post_mutex_);
    batch.swap(posted_);
    posted_pending_.store(false, std::memory_order_relaxed);
  }
  for (auto& fn : batch)
    guarded(fn);
}

timer_id event_loop::add_timer(std::chrono::milliseconds delay, std::function<void()> fn,
                               bool repeat) {
  expect_owner("event_loop::add_timer");
  const timer_id id = next_timer_++;
  const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(delay.count(), 0));
  timer t{std::move(fn), repeat ? std::max<std::uint64_t>(ms, 1) : 0, now_ms_ + ms};
  due_.emplace(t.due, id);
  timers_.emplace(id, std::move(t));
  return id;
}

void event_loop::cancel_timer(timer_id id) noexcept {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto [b, e] = due_.equal_range(it->second.due);
  for (auto d = b; d != e; ++d) {
    if (d->second == id) {
      due_.erase(d);
      break;
    }
  }
  timers_.erase(it);
}

void event_loop::run_timers() {
  while (!due_.empty() && due_.begin()->first <= now_ms_) {
    const timer_id id = due_.begin()->second;
    due_.erase(due_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    if (it->second.period == 0) {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      guarded(fn);
      continue;
    }
    it->second.due = now_ms_ + it->second.period;
    due_.emplace(it->second.due, id);
    auto fn = it->second.fn;  // the callback may cancel its own timer
    guarded(fn);
  }
}

void event_loop::on_iteration_end(std::function<void()> fn) {
  iteration_end_.push_back(std::move(fn));
}

void event_loop::on_exception(std::function<void(std::string_view)> fn) {
  on_exception_ = std::move(fn);
}

void event_loop::report_exception(std::exception_ptr e) noexcept {
  exceptions_.fetch_add(1, std::memory_order_relaxed);
  // `e` keeps the exception object, and so the text what() points into, alive.
  const char* what = "an exception of unknown type";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  try {
    if (on_exception_) return on_exception_(what);
  } catch (...) {
  }
  std::fprintf(stderr, "duplex: exception on the event loop: %s\n", what);
}

}  // namespace duplex::net
