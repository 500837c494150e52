// Input the kernel has already read for a loop's sockets (io_uring's multishot receive into a
// ring of provided buffers), waiting for each socket's turn. Internal: not installed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

struct io_uring;
struct io_uring_buf_ring;
struct io_uring_buf_reg;

namespace duplex::net {

// The poller files each completion's buffer under its descriptor; the stream takes the pieces
// in order when it reads, and each buffer goes back to the kernel once its piece is parsed.
// What a stream leaves unread (it stopped reading: held, closing) is copied aside at the next
// wait and its buffers given back, so that a few paused sockets cannot starve the ring.
class receiver {
 public:
  // 2 MiB for a loop: a 16 KiB buffer holds what one completion reports; 128 of them let a
  // large message arrive in one wake-up while other sockets still find room.
  static constexpr unsigned buffer_count = 128;  // a power of two, as the ring's mask needs
  static constexpr std::size_t buffer_bytes = 16 * 1024;
  static constexpr std::uint16_t group = 0;  // the buffer group id the receives name

  receiver() = default;
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;
  ~receiver();
  // Maps the buffers and their ring; false when the memory cannot be had.
  bool open();
  // Registers the buffers with `ring` and tries a multishot receive on a socket pair: false
  // (and nothing left registered) when the kernel cannot receive this way.
  bool attach(io_uring& ring);

  // --- the stream's side ---
  // A piece of `fd`'s input: the caller's until release(), and no other piece is taken first.
  struct piece {
    char* data = nullptr;
    std::size_t size = 0;
    int buffer = -1;  // -1: the copy set aside
  };
  bool next(int fd, piece& out);
  void release(const piece& p) noexcept;
  // The stream ended (FIN or an error) after the last piece.
  bool ended(int fd) const noexcept {
    return static_cast<std::size_t>(fd) < boxes_.size() && boxes_[fd].ended && empty(fd);
  }

  // --- the poller's side ---
  // Room for `fd` made in advance, so that filing its completions never allocates (a
  // completion taken and then lost to bad_alloc would be taken again, and its buffer given
  // back twice).
  void prepare(int fd);
  void on_data(int fd, unsigned buffer, std::size_t n) noexcept;
  void on_end(int fd) noexcept;
  // A buffer whose completion nobody will read (a stale request's) goes straight back.
  void recycle(unsigned buffer) noexcept;
  // Copies what the last wait's streams left unread aside and gives its buffers back; the
  // descriptors that hold input or an end still to report are in `waiting()` after it.
  void set_aside();
  const std::vector<int>& waiting() const noexcept { return waiting_; }
  // Input or an end not yet read.
  bool holds(int fd) const noexcept {
    return static_cast<std::size_t>(fd) < boxes_.size() && (!empty(fd) || boxes_[fd].ended);
  }
  // The descriptor was closed: what it held is dropped.
  void forget(int fd) noexcept;

 private:
  static constexpr std::uint16_t none = 0xffff;
  struct box {
    std::uint16_t head = none;  // the oldest buffer filed, linked through next_
    std::uint16_t tail = none;
    bool ended = false;
    bool aside = false;   // a copy waits in aside_
    bool listed = false;  // in touched_ or waiting_ this round
  };
  static_assert(buffer_count < none);

  void describe(io_uring_buf_reg& reg) const noexcept;
  bool try_receive(io_uring& ring);
  void list(int fd, box& b) noexcept;
  bool copy_aside(int fd, box& b);
  bool empty(int fd) const noexcept {
    const box& b = boxes_[static_cast<std::size_t>(fd)];
    return b.head == none && !b.aside;
  }
  char* address(unsigned buffer) const noexcept { return base_ + buffer * buffer_bytes; }

  char* base_ = nullptr;  // buffer_count buffers, buffer_bytes each
  io_uring_buf_ring* ring_ = nullptr;
  std::size_t ring_bytes_ = 0;
  std::uint16_t next_[buffer_count] = {};
  std::uint32_t length_[buffer_count] = {};
  std::vector<box> boxes_;    // by descriptor
  std::vector<int> touched_;  // filed to since the last set_aside
  std::vector<int> waiting_;  // input or an end left from earlier waits
  std::vector<int> round_;    // set_aside's work list
  std::unordered_map<int, std::string> aside_;
  std::string taken_;  // the copy a stream is reading now
};

}  // namespace duplex::net
