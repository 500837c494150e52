#include "duplex/net/send_queue.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "io_calls.hpp"

namespace duplex::net {

write_result write_vector(int fd, const iovec* iov, std::size_t count) noexcept {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = count;
  while (true) {
    const ssize_t n = sys::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return {static_cast<std::size_t>(n), false, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, true, 0};
    return {0, false, errno};
  }
}

write_result write_bytes(int fd, std::string_view bytes) noexcept {
  iovec v{const_cast<char*>(bytes.data()), bytes.size()};
  return write_vector(fd, &v, 1);
}

void send_queue::push(std::string_view data) {
  if (data.empty()) return;
  segments_.push_back({std::string(data), nullptr, 0});
  bytes_ += data.size();
}

void send_queue::push(std::string&& data) {
  if (data.empty()) return;
  bytes_ += data.size();
  segments_.push_back({std::move(data), nullptr, 0});
}

void send_queue::push(shared_bytes buf, std::size_t offset) {
  if (!buf || offset >= buf->size()) return;
  bytes_ += buf->size() - offset;
  segments_.push_back({{}, std::move(buf), offset});
}

void send_queue::clear() noexcept {
  segments_.clear();
  head_ = 0;
  bytes_ = 0;
}

void send_queue::consume(std::size_t n) noexcept {
  bytes_ -= n;
  while (n > 0) {
    segment& s = segments_[head_];
    const std::size_t left = s.rest().size();
    if (n < left) {
      s.offset += n;
      return;
    }
    n -= left;
    s = segment{};
    ++head_;
  }
  // A queue that never drains completely must not grow with dead segments at its front.
  if (head_ >= 32 && head_ * 2 >= segments_.size()) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  if (head_ == segments_.size()) {
    segments_.clear();
    // An idle socket keeps no queue storage.
    if (segments_.capacity() > 8) std::vector<segment>().swap(segments_);
    head_ = 0;
  }
}

write_result send_queue::flush(int fd) noexcept {
  write_result total;
  while (bytes_ > 0) {
    iovec iov[64];
    std::size_t n = 0;
    for (std::size_t i = head_; i < segments_.size() && n < 64; ++i, ++n) {
      const auto r = segments_[i].rest();
      iov[n] = {const_cast<char*>(r.data()), r.size()};
    }
    const write_result w = write_vector(fd, iov, n);
    if (w.error || w.blocked) {
      total.blocked = w.blocked;
      total.error = w.error;
      return total;
    }
    total.written += w.written;
    consume(w.written);
  }
  return total;
}

void close_socket(int fd) noexcept {
  int unsent = 0;
  if (::ioctl(fd, SIOCOUTQNSD, &unsent) == 0 && unsent > 0) {
    const linger abort_on_close{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  }
  ::close(fd);
}

}  // namespace duplex::net
