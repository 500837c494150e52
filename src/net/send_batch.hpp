// Writes of one loop iteration handed to the kernel together (loop_options::batch_sends, and the
// uring backend): a stream's small write is copied into the loop's arena and sent by one
// io_uring_enter at the iteration's end, instead of one sendmsg each. Internal: not installed.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::net {

class stream;

class send_batch {
 public:
  // Null when the kernel refuses a ring (the loop then writes at once, as with epoll).
  static std::unique_ptr<send_batch> open();
  ~send_batch();
  send_batch(const send_batch&) = delete;
  send_batch& operator=(const send_batch&) = delete;

  // Writes this large go out at once: copying them would cost more than the call it saves.
  static constexpr std::size_t max_write = 16 * 1024;

  // Queues `bytes` (at most max_write) for `who`'s descriptor; `who` learns the outcome through
  // stream::on_sent before it is destroyed, closed or asked whether it drained (settle). False
  // when it cannot (the kernel refused a submission): the caller writes the bytes itself.
  bool add(stream& who, int fd, std::string_view bytes);
  // Sends everything queued and reports each outcome. Loop thread; reentrant calls (a stream
  // settling from inside on_sent) find nothing left and return.
  void flush();
  bool empty() const noexcept { return sends_.empty(); }
  // False while flush() reports outcomes, and for good once the kernel refused a submission:
  // a write made then goes out at once.
  bool open_for_writes() const noexcept { return !flushing_ && !broken_; }

 private:
  send_batch() = default;
  struct entry {
    stream* who;
    std::uint32_t at;  // into arena_
    std::uint32_t size;
    bool reported = false;
  };
  std::string_view bytes(const entry& e) const noexcept {
    return std::string_view(arena_).substr(e.at, e.size);
  }

  io_uring ring_{};
  std::string arena_;
  std::vector<entry> sends_;
  bool open_ = false;
  bool flushing_ = false;
  bool broken_ = false;
};

}  // namespace duplex::net
