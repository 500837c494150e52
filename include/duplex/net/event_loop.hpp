// One event loop per thread (epoll or io_uring): I/O readiness, timers, cross-thread posting, a
// shared read buffer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace duplex::net {

/// Readiness of a descriptor: what a handler asks the loop to watch (readable, writable), and
/// what the loop reports (errors and hang-ups are always reported).
enum class io_events : std::uint32_t {
  none = 0,
  readable = 0x001,
  writable = 0x004,
  error = 0x008,
  hangup = 0x010,
};

constexpr io_events operator|(io_events a, io_events b) noexcept {
  return static_cast<io_events>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr io_events operator&(io_events a, io_events b) noexcept {
  return static_cast<io_events>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}
constexpr io_events without(io_events a, io_events b) noexcept {
  return static_cast<io_events>(static_cast<std::uint32_t>(a) & ~static_cast<std::uint32_t>(b));
}
/// Whether `e` holds any of `flags`.
constexpr bool has(io_events e, io_events flags) noexcept {
  return (e & flags) != io_events::none;
}
/// readable, or an error or hang-up that a read will report.
constexpr bool read_ready(io_events e) noexcept {
  return has(e, io_events::readable | io_events::error | io_events::hangup);
}

/// Something registered with the loop for readiness on a file descriptor.
class io_handler {
 public:
  /// Called on the loop's thread with what the descriptor is ready for.
  virtual void on_io(io_events events) = 0;

 protected:
  ~io_handler() = default;
};

/// How a loop learns of readiness. `automatic` follows the environment's DUPLEX_IO (uring,
/// epoll or auto) and is epoll without it. io_uring falls back to epoll, with one line on stderr
/// per process, when the kernel refuses it (too old, disabled by sysctl or a seccomp filter).
enum class io_backend : std::uint8_t { automatic, epoll, uring };

/// "auto", "epoll" or "uring" (also "io_uring"); false for anything else.
bool parse_io_backend(std::string_view text, io_backend& out) noexcept;
/// The backend's name, as parse_io_backend reads it.
std::string_view to_string(io_backend b) noexcept;

/// Sizes of an event loop's buffers, and its I/O backend.
struct loop_options {
  std::size_t receive_buffer_bytes = 512 * 1024;  ///< one per loop, shared by its sockets
  std::size_t max_events = 512;                   ///< readiness events taken per wait
  io_backend io = io_backend::automatic;          ///< see io_backend
  /// The small writes of an iteration (replies up to 16 KiB) go to the kernel together, in one
  /// io_uring_enter at the iteration's end, instead of one sendmsg each. Always so with the
  /// uring backend; with epoll when this is true and the kernel allows io_uring (else writes go
  /// out at once, as without it).
  bool batch_sends = false;
};

class poller;
class receiver;
class send_batch;

using timer_id = std::uint64_t;

/// @brief One epoll loop: readiness, timers, work posted from other threads, and a shared read
/// buffer. Everything but post(), stop() and exception_count() is for the loop's thread.
class event_loop {
 public:
  /// Makes the epoll instance and the wake-up descriptor; throws std::system_error on failure.
  explicit event_loop(loop_options opts = {});
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Registration; loop thread only (or before run()).
  void add(int fd, io_events interest, io_handler* h);
  /// See add().
  void modify(int fd, io_events interest, io_handler* h);
  /// See add().
  void remove(int fd) noexcept;
  /// Internal (net::stream): registers `fd` so that its input comes read already, in input();
  /// false when the backend offers only readiness (epoll), and nothing was registered.
  bool add_receiving(int fd, io_events interest, io_handler* h);
  /// Internal (net::stream): input read by the kernel for the sockets registered with
  /// add_receiving; null with epoll, or when the kernel cannot receive this way.
  receiver* input() noexcept { return input_; }
  /// Internal (net::listener): registers listening socket `fd` so that the kernel accepts its
  /// connections as they come (io_uring's multishot accept); false when the backend offers
  /// only readiness, and nothing was registered.
  bool add_accepting(int fd, io_handler* h);
  /// Internal (net::listener): the next descriptor accepted for `fd`, or the negative errno
  /// that ended accepting; false when none waits.
  bool next_accepted(int fd, int& result) noexcept;
  /// Unregisters and closes `fd`. With io_uring the close goes to the kernel with the
  /// iteration's one submission (the number stays taken until then); with epoll at once.
  void close(int fd) noexcept;
  /// Internal (net::listener): hands the kernel what waits for the next wait (closes above
  /// all) now; false when nothing waited.
  bool submit() noexcept;

  /// Runs until stop(); may be called again after it returns. The thread that calls run()
  /// becomes the loop's thread.
  void run();
  /// Any thread: ends run() after the current iteration.
  void stop() noexcept;
  /// Any thread: runs fn on the loop's thread, in posting order.
  void post(std::function<void()> fn);

  /// Loop thread only. A one-shot timer, or a periodic one when `repeat` is true.
  timer_id add_timer(std::chrono::milliseconds delay, std::function<void()> fn,
                     bool repeat = false);
  /// Loop thread only: the timer does not run again (an unknown id is ignored).
  void cancel_timer(timer_id id) noexcept;

  /// Loop thread only: fn runs at the end of every iteration, after I/O, posts and timers.
  void on_iteration_end(std::function<void()> fn);

  /// An exception that escapes a readiness handler, posted work, a timer or an iteration-end
  /// hook does not end the loop: it is counted and handed to this function (by default a line
  /// on stderr), and the loop goes on with the next piece of work. Set it before run().
  void on_exception(std::function<void(std::string_view what)> fn);
  /// Loop thread only: reports an exception caught by code the loop calls into but which cannot
  /// let it propagate (a C library's callback, say), exactly as if it had escaped to the loop.
  void report_exception(std::exception_ptr e) noexcept;
  /// Exceptions reported so far; any thread.
  std::uint64_t exception_count() const noexcept {
    return exceptions_.load(std::memory_order_relaxed);
  }

  /// The loop's receive buffer; valid for one read-and-parse step on the loop's thread.
  std::span<char> receive_buffer() noexcept { return {buffer_.get(), buffer_size_}; }
  /// Monotonic milliseconds, read once per iteration.
  std::uint64_t now_ms() const noexcept { return now_ms_; }
  /// Whether the calling thread is the one running (or that last ran) the loop.
  bool in_loop_thread() const noexcept { return std::this_thread::get_id() == thread_.load(); }
  /// Throws std::logic_error naming `call` when a loop-bound call comes from another thread than
  /// the loop's, once the loop has run (before, the thread that sets things up may call).
  void expect_owner(const char* call) const {
    const auto owner = thread_.load(std::memory_order_relaxed);
    if (owner != std::thread::id{} && owner != std::this_thread::get_id()) wrong_thread(call);
  }
  /// The backend in use: epoll or uring, never automatic.
  io_backend backend() const noexcept { return backend_; }
  /// Internal (net::stream): with io_uring, the small writes of an iteration, sent together at
  /// its end; null with epoll.
  send_batch* batch() noexcept { return batch_.get(); }

 private:
  struct timer {
    std::function<void()> fn;
    std::uint64_t period = 0;
    std::uint64_t due = 0;
  };
  class waker;

  [[noreturn]] static void wrong_thread(const char* call);
  template <class F>
  void guarded(F&& f) noexcept;
  int wait_timeout() const noexcept;
  void run_posted();
  void run_timers();
  void update_clock() noexcept;
  void flush_sends() noexcept;

  io_backend backend_ = io_backend::epoll;  // before poller_: its initializer sets this
  std::unique_ptr<poller> poller_;
  std::unique_ptr<send_batch> batch_;
  receiver* input_ = nullptr;  // the poller's
  std::unique_ptr<waker> waker_;
  std::unique_ptr<char[]> buffer_;
  std::size_t buffer_size_;
  std::uint64_t now_ms_ = 0;
  std::atomic<bool> stopped_{false};
  bool running_ = false;  // inside run(): a wait comes at the iteration's end
  std::atomic<std::thread::id> thread_{};
  std::mutex post_mutex_;
  std::vector<std::function<void()>> posted_;
  // Set under post_mutex_ while posted_ holds work: an iteration with nothing posted (nearly
  // every one) skips the lock.
  std::atomic<bool> posted_pending_{false};
  std::multimap<std::uint64_t, timer_id> due_;
  std::unordered_map<timer_id, timer> timers_;
  timer_id next_timer_ = 1;
  std::vector<std::function<void()>> iteration_end_;
  std::function<void(std::string_view)> on_exception_;
  std::atomic<std::uint64_t> exceptions_{0};
};

}  // namespace duplex::net
