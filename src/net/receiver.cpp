#include "receiver.hpp"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace duplex::net {

receiver::~receiver() {
  if (ring_ != nullptr) ::munmap(ring_, ring_bytes_);
  if (base_ != nullptr) ::munmap(base_, buffer_count * buffer_bytes);
}

bool receiver::open() {
  // Faulted in now: a fixed cost of the loop, paid once, instead of a page fault in the hot
  // path each time the kernel first fills a buffer (on the VM we measure on, fresh pages were
  // most of a large echo's cost).
  void* base = ::mmap(nullptr, buffer_count * buffer_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (base == MAP_FAILED) return false;
  base_ = static_cast<char*>(base);
  // The ring the kernel takes buffers from must be page-aligned: its own mapping.
  ring_bytes_ = buffer_count * sizeof(io_uring_buf);
  void* ring =
      ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED) return false;
  ring_ = static_cast<io_uring_buf_ring*>(ring);
  io_uring_buf_ring_init(ring_);
  const int mask = io_uring_buf_ring_mask(buffer_count);
  for (unsigned b = 0; b < buffer_count; ++b)
    io_uring_buf_ring_add(ring_, address(b), buffer_bytes, static_cast<unsigned short>(b), mask,
                          static_cast<int>(b));
  io_uring_buf_ring_advance(ring_, buffer_count);
  return true;
}

void receiver::describe(io_uring_buf_reg& reg) const noexcept {
  reg = io_uring_buf_reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(ring_);
  reg.ring_entries = buffer_count;
  reg.bgid = group;
}

// Receiving needs a ring of provided buffers (Linux 5.19) and multishot receive (6.0): tried
// on a socket pair, since no feature flag tells.
bool receiver::attach(io_uring& ring) {
  io_uring_buf_reg reg;
  describe(reg);
  if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) return false;
  const bool works = try_receive(ring);
  if (!works) io_uring_unregister_buf_ring(&ring, group);
  return works;
}

bool receiver::try_receive(io_uring& ring) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) return false;
  const char byte = 'x';
  bool works = false;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (sqe != nullptr && ::send(pair[1], &byte, 1, MSG_NOSIGNAL) == 1) {
    io_uring_prep_recv_multishot(sqe, pair[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    io_uring_sqe_set_data64(sqe, 1);
    io_uring_cqe* cqe = nullptr;
    if (io_uring_submit_and_wait(&ring, 1) == 1 && io_uring_peek_cqe(&ring, &cqe) == 0) {
      const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
      const bool buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
      works = cqe->res == 1 && more && buffer;
      if (buffer) recycle(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      io_uring_cqe_seen(&ring, cqe);
      if (more && (sqe = io_uring_get_sqe(&ring)) != nullptr) {
        // Still armed: cancelled, and its last completion awaited with the cancellation's.
        io_uring_prep_cancel64(sqe, 1, 0);
        io_uring_sqe_set_data64(sqe, 2);
        io_uring_submit_and_wait(&ring, 2);
        while (io_uring_peek_cqe(&ring, &cqe) == 0)
          io_uring_cqe_seen(&ring, cqe);
      }
    }
  }
  ::close(pair[0]);
  ::close(pair[1]);
  return works;
}

void receiver::prepare(int fd) {
  const auto i = static_cast<std::size_t>(fd);
  if (i >= boxes_.size()) boxes_.resize(std::max<std::size_t>(i + 1, boxes_.size() * 2));
  // Each list holds a descriptor once at most.
  touched_.reserve(boxes_.size());
  waiting_.reserve(boxes_.size());
  round_.reserve(boxes_.size());
}

void receiver::list(int fd, box& b) noexcept {
  if (b.listed) return;
  b.listed = true;
  touched_.push_back(fd);  // within the capacity prepare() made
}

bool receiver::next(int fd, piece& out) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= boxes_.size()) return false;
  box& b = boxes_[static_cast<std::size_t>(fd)];
  if (b.aside) {  // older than anything filed since
    auto it = aside_.find(fd);
    taken_ = std::move(it->second);
    aside_.erase(it);
    b.aside = false;
    out = {taken_.data(), taken_.size(), -1};
    return true;
  }
  if (b.head == none) return false;
  const std::uint16_t id = b.head;
  b.head = next_[id];
  if (b.head == none) b.tail = none;
  out = {address(id), length_[id], id};
  return true;
}

void receiver::release(const piece& p) noexcept {
  if (p.buffer >= 0) return recycle(static_cast<unsigned>(p.buffer));
  taken_.clear();
}

void receiver::recycle(unsigned buffer) noexcept {
  if (buffer >= buffer_count) return;
  io_uring_buf_ring_add(ring_, address(buffer), buffer_bytes, static_cast<unsigned short>(buffer),
                        io_uring_buf_ring_mask(buffer_count), 0);
  io_uring_buf_ring_advance(ring_, 1);
}

void receiver::on_data(int fd, unsigned buffer, std::size_t n) noexcept {
  if (buffer >= buffer_count) return;
  if (static_cast<std::size_t>(fd) >= boxes_.size()) return recycle(buffer);  // not prepared
  box& b = boxes_[static_cast<std::size_t>(fd)];
  const auto id = static_cast<std::uint16_t>(buffer);
  next_[id] = none;
  length_[id] = static_cast<std::uint32_t>(n);
  if (b.tail == none) {
    b.head = id;
  } else {
    next_[b.tail] = id;
  }
  b.tail = id;
  list(fd, b);
}

void receiver::on_end(int fd) noexcept {
  if (static_cast<std::size_t>(fd) >= boxes_.size()) return;
  box& b = boxes_[static_cast<std::size_t>(fd)];
  b.ended = true;
  list(fd, b);
}

// The copy is made whole before any buffer goes back: if memory runs out, the box is left as
// it was, still listed, and the next wait tries again.
bool receiver::copy_aside(int fd, box& b) {
  if (b.head == none) return true;
  std::size_t total = 0;
  for (std::uint16_t id = b.head; id != none; id = next_[id])
    total += length_[id];
  std::string& copy = aside_[fd];  // behind an older copy, if one is still unread
  copy.reserve(copy.size() + total);
  for (std::uint16_t id = b.head; id != none;) {
    copy.append(address(id), length_[id]);
    const std::uint16_t after = next_[id];
    recycle(id);
    id = after;
  }
  b.head = b.tail = none;
  b.aside = true;
  return true;
}

void receiver::set_aside() {
  round_.assign(waiting_.begin(), waiting_.end());  // within the capacity prepare() made
  round_.insert(round_.end(), touched_.begin(), touched_.end());
  waiting_.clear();
  touched_.clear();
  for (std::size_t i = 0; i < round_.size(); ++i) {
    const int fd = round_[i];
    box& b = boxes_[static_cast<std::size_t>(fd)];
    b.listed = false;
    try {
      copy_aside(fd, b);
    } catch (...) {
      // No memory for the copy: this one and the rest wait, as they are, for the next round
      // (each is in round_ once, so waiting_ has room for them all).
      for (std::size_t j = i; j < round_.size(); ++j) {
        boxes_[static_cast<std::size_t>(round_[j])].listed = true;
        waiting_.push_back(round_[j]);
      }
      throw;
    }
    if ((b.aside || b.ended) && !b.listed) {
      b.listed = true;
      waiting_.push_back(fd);
    }
  }
}

void receiver::forget(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= boxes_.size()) return;
  box& b = boxes_[static_cast<std::size_t>(fd)];
  for (std::uint16_t id = b.head; id != none;) {
    const std::uint16_t after = next_[id];
    recycle(id);
    id = after;
  }
  if (b.aside) aside_.erase(fd);
  // Still listed: the lists drop it at the next set_aside, since it holds nothing.
  b = box{none, none, false, false, b.listed};
}

}  // namespace duplex::net
