#include "send_batch.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "io_calls.hpp"
#include "stream.hpp"

namespace duplex::net {
namespace {

constexpr unsigned ring_entries = 256;
// Enough for 256 small replies of up to 1 KiB; a fuller iteration flushes early and goes on.
constexpr std::size_t arena_bytes = 256 * 1024;

}  // namespace

std::unique_ptr<send_batch> send_batch::open() {
  if (sys::uring_fault() < 0) return nullptr;
  std::unique_ptr<send_batch> b(new send_batch);
  if (io_uring_queue_init(ring_entries, &b->ring_, 0) < 0) return nullptr;
  b->open_ = true;
  // IORING_OP_SEND came with Linux 5.6: an older kernel would fail every batched write.
  io_uring_probe* probe = io_uring_get_probe_ring(&b->ring_);
  const bool sends = probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_SEND);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!sends) return nullptr;
  b->arena_.reserve(arena_bytes);
  b->sends_.reserve(ring_entries);
  return b;
}

send_batch::~send_batch() {
  if (open_) io_uring_queue_exit(&ring_);
}

bool send_batch::add(stream& who, int fd, std::string_view bytes) {
  // The arena must not move while the kernel has not copied from it: a full one, or a full
  // ring, is sent now.
  if (arena_.size() + bytes.size() > arena_.capacity() || sends_.size() == ring_entries) flush();
  if (broken_ || bytes.size() > arena_.capacity() - arena_.size()) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) return false;
  const auto at = static_cast<std::uint32_t>(arena_.size());
  arena_.append(bytes);
  // MSG_DONTWAIT: a socket that cannot take the bytes answers EAGAIN at once, as sendmsg would,
  // instead of the ring waiting for room; what is left then goes to the stream's queue.
  io_uring_prep_send(sqe, fd, arena_.data() + at, bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  io_uring_sqe_set_data64(sqe, sends_.size());
  sends_.push_back({&who, at, static_cast<std::uint32_t>(bytes.size())});
  return true;
}

void send_batch::flush() {
  if (sends_.empty() || flushing_) return;
  flushing_ = true;
  // Each send is tried as the ring takes it (a socket never blocks the submission), so every
  // completion is there when the one system call returns.
  const auto n = static_cast<unsigned>(sends_.size());
  int rc;
  do {
    rc = io_uring_submit_and_wait(&ring_, n);
  } while (rc == -EINTR);
  const unsigned submitted = rc > 0 ? static_cast<unsigned>(rc) : 0;
  // The kernel refused some (it should not): those requests stay in the ring, so it is never
  // submitted again (add refuses from now on), and their bytes go the ordinary way.
  if (submitted < n) broken_ = true;
  for (unsigned seen = 0; seen < submitted; ++seen) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring_, &cqe) != 0 || cqe == nullptr) {
      broken_ = true;
      break;
    }
    const std::uint64_t index = cqe->user_data;
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (index >= sends_.size() || sends_[index].reported) continue;  // not one of these
    entry& e = sends_[index];
    e.reported = true;
    const auto written = res > 0 ? static_cast<std::size_t>(res) : 0;
    e.who->on_sent(res < 0 && res != -EAGAIN ? -res : 0, bytes(e).substr(written));
  }
  for (std::size_t i = 0; i < sends_.size(); ++i) {
    entry& e = sends_[i];
    if (e.reported) continue;
    // Never submitted: the whole write waits in the stream's queue. Submitted with no outcome
    // (the ring stopped answering): it may or may not have gone out, so the stream fails.
    if (i >= submitted) {
      e.who->on_sent(0, bytes(e));
    } else {
      e.who->on_sent(EIO, {});
    }
  }
  sends_.clear();
  arena_.clear();
  flushing_ = false;
}

}  // namespace duplex::net
