// The io_uring poller's state, shared by its arming side (uring_poller.cpp) and its completion
// side (uring_completions.cpp). Internal: not installed.
#pragma once

#include <liburing.h>
#include <poll.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "poller.hpp"
#include "receiver.hpp"

namespace duplex::net {

// A completion whose result nobody needs (a cancellation, a close).
constexpr std::uint64_t uring_ignored = ~std::uint64_t{0};

enum class uring_op : std::uint32_t { poll = 0, receive = 1, accept = 2 };

// A request's user_data: the descriptor, the operation, which socket held the number (so that
// a report for a socket closed since is dropped) and which arming it was (so that a request
// re-armed with a new mask drops the old one's report).
struct uring_tag {
  int fd;
  uring_op kind;
  std::uint16_t socket;
  std::uint16_t arming;

  static constexpr std::uint16_t arming_mask = 0x3fff;
  std::uint64_t pack() const noexcept {
    return static_cast<std::uint32_t>(fd) |
           (std::uint64_t{static_cast<std::uint32_t>(kind)} << 32) | (std::uint64_t{socket} << 34) |
           (std::uint64_t{arming} & arming_mask) << 50;
  }
  static uring_tag unpack(std::uint64_t v) noexcept {
    return {static_cast<int>(static_cast<std::uint32_t>(v)), static_cast<uring_op>((v >> 32) & 3),
            static_cast<std::uint16_t>(v >> 34), static_cast<std::uint16_t>((v >> 50) & arming_mask)};
  }
};

class uring_poller final : public poller {
 public:
  explicit uring_poller(std::size_t max_events);
  ~uring_poller() override;
  // False, with the reason in `why`, when the kernel refuses.
  bool open(std::string& why);

  void add(int fd, io_events interest, io_handler* h) override {
    start(fd, interest, h, mode::ready);
  }
  bool add_receiving(int fd, io_events interest, io_handler* h) override {
    if (!input_) return false;
    start(fd, interest, h, mode::receive);
    return true;
  }
  bool add_accepting(int fd, io_handler* h) override;
  bool next_accepted(int fd, int& result) noexcept override;
  void modify(int fd, io_events interest, io_handler* h) override;
  void remove(int fd) noexcept override;
  void close(int fd) noexcept override;
  bool submit() noexcept override {
    return io_uring_sq_ready(&ring_) > 0 && io_uring_submit(&ring_) > 0;
  }
  std::span<const ready_event> wait(int timeout_ms) override;
  receiver* input() noexcept override { return input_.get(); }

 private:
  enum class mode : std::uint8_t { ready, receive, accept };
  // 32 bytes: the table is indexed by descriptor, so it costs this much per open socket.
  struct slot {
    io_handler* handler = nullptr;
    std::uint32_t epoch = 0;     // the wait whose ready_ holds this descriptor's report...
    std::uint32_t ready_at = 0;  // ...at this index
    std::uint16_t socket = 0;    // which socket holds the number: counts add()s and remove()s
    std::uint16_t poll_arming = 0;
    std::uint16_t shot_arming = 0;  // the multishot request's: a receive or an accept
    std::uint8_t interest = 0;      // POLLIN and POLLOUT, as asked
    std::uint8_t poll_mask = 0;     // the mask of the poll in the kernel
    bool live : 1 = false;
    bool receiving : 1 = false;  // input comes as completions, not as readiness
    bool accepting : 1 = false;  // connections come as completions (a listener)
    bool poll_armed : 1 = false;
    bool shot_armed : 1 = false;
    bool failed : 1 = false;     // the kernel refused to poll it: reported once, not armed again
    bool shot_over : 1 = false;  // the receive reported the end (FIN or an error)
    bool pending : 1 = false;    // in reported_: brought in line at the next wait
  };
  static_assert(POLLIN < 256 && POLLOUT < 256 && POLLERR < 256 && POLLHUP < 256);
  static_assert(sizeof(slot) <= 32);

  // A listener's accepted descriptors (or the negative errno that ended its accept), in order,
  // until it takes them. Bounded: a full queue stops the reaping, the rest waits in the kernel.
  struct accept_queue {
    int fd;
    std::vector<int> results;
    std::size_t head = 0;
  };
  static constexpr std::size_t accept_batch = 256;

  slot& at(int fd);
  io_uring_sqe* next_sqe();
  void start(int fd, io_events interest, io_handler* h, mode m);
  // Arms or cancels the requests so that they match what the slot asks for.
  void sync(int fd, slot& s);
  void arm_poll(int fd, slot& s, std::uint8_t mask);
  void arm_shot(int fd, slot& s);
  void cancel(const uring_tag& t);
  bool forget(int fd) noexcept;
  // Queued without a completion when it works (IOSQE_CQE_SKIP_SUCCESS, if the kernel has it).
  void quietly(io_uring_sqe* sqe) noexcept;
  void later(int fd, slot& s) noexcept;
  void report(int fd, slot& s, io_events events) noexcept;
  void report_waiting();
  void reap();
  void take(const io_uring_cqe& cqe) noexcept;
  void take_poll(int fd, slot& s, const io_uring_cqe& cqe) noexcept;
  void take_receive(int fd, slot& s, const uring_tag& t, const io_uring_cqe& cqe) noexcept;
  void take_accept(int fd, slot& s, const uring_tag& t, const io_uring_cqe& cqe) noexcept;
  accept_queue* queue_of(int fd) noexcept;
  void drop_queue(int fd) noexcept;
  void drain_on_exit() noexcept;
  bool open_receiver();

  io_uring ring_{};
  bool open_ = false;
  bool skip_success_ = false;  // IORING_FEAT_CQE_SKIP
  bool accepts_full_ = false;  // a queue is full: reaping waits for the listener
  std::size_t max_events_;
  std::uint32_t epoch_ = 0;
  std::vector<slot> slots_;    // by descriptor
  std::vector<int> reported_;  // reported by the last wait, brought in line by the next
  std::vector<ready_event> ready_;
  std::vector<accept_queue> accepts_;  // one per accepting listener: a few at most
  std::unique_ptr<receiver> input_;    // null when the kernel cannot receive this way
};

}  // namespace duplex::net
