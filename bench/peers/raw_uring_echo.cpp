// What completion-style io_uring could save: a TCP echo with no framing on one io_uring, with
// multishot accept, multishot receive into a provided-buffer ring, and every echo of an
// iteration copied into an arena and sent by the one io_uring_enter that also waits. Set
// beside raw-echo (epoll: a recv and a send per message) it measures the system-call cost that
// duplex's readiness-style backends still pay; it is an experiment for BENCHMARKS.md, not a
// column of bench/run. Loopback only; stops on SIGTERM like the other peers.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "loopback_listen.hpp"

namespace {

constexpr unsigned buffers = 1024;
constexpr unsigned buffer_size = 4096;
constexpr std::uint64_t kind_accept = 1ull << 62;
constexpr std::uint64_t kind_recv = 2ull << 62;
constexpr std::uint64_t kind_send = 3ull << 62;
constexpr std::uint64_t kind_mask = 3ull << 62;


struct echo {
  io_uring ring{};
  io_uring_buf_ring* br = nullptr;
  std::vector<char> pool = std::vector<char>(std::size_t{buffers} * buffer_size);
  // Two arenas: sends of the current iteration point into one while the other's are in flight.
  // An arena is reused only once all its sends completed, so it never moves under the kernel.
  std::string arena[2];
  int in_flight[2] = {0, 0};
  int current = 0;
  unsigned returned = 0;  // buffers given back to the ring since the last advance

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    return s;
  }
  void receive(int fd) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = 0;
    io_uring_sqe_set_data64(s, kind_recv | static_cast<std::uint32_t>(fd));
  }
  void give_back(unsigned id) {
    io_uring_buf_ring_add(br, &pool[std::size_t{id} * buffer_size], buffer_size,
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(buffers),
                          static_cast<int>(returned++));
  }
  void on_data(int fd, const io_uring_cqe& c) {
    const unsigned id = c.flags >> IORING_CQE_BUFFER_SHIFT;
    const auto n = static_cast<std::size_t>(c.res);
    std::string& a = arena[current];
    // The arena is sized once and never grows past it: a full arena means waiting a round.
    if (a.capacity() < (1u << 20)) a.reserve(1u << 20);
    if (a.size() + n > a.capacity()) {
      give_back(id);  // dropped: bounded memory over a perfect echo; never happens in the bench
      return;
    }
    const std::size_t at = a.size();
    a.append(&pool[std::size_t{id} * buffer_size], n);
    give_back(id);
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, fd, a.data() + at, n, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(s, kind_send | (std::uint64_t(current) << 32) |
                                   static_cast<std::uint32_t>(fd));
    ++in_flight[current];
  }
  void take(const io_uring_cqe& c) {
    const std::uint64_t kind = c.user_data & kind_mask;
    const auto fd = static_cast<int>(c.user_data & 0xffffffffu);
    if (kind == kind_accept) {
      if (c.res < 0) return;
      const int one = 1;
      setsockopt(c.res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      receive(c.res);
    } else if (kind == kind_recv) {
      if (c.res > 0) on_data(fd, c);
      if (c.res == -ENOBUFS || (c.res > 0 && !(c.flags & IORING_CQE_F_MORE))) {
        receive(fd);
      } else if (c.res <= 0) {
        close(fd);
      }
    } else if (kind == kind_send) {
      const int which = static_cast<int>((c.user_data >> 32) & 1);
      if (--in_flight[which] == 0 && which != current) arena[which].clear();
    }
  }
  void run(int lfd) {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, kind_accept);
    for (;;) {
      io_uring_submit_and_wait(&ring, 1);
      unsigned head, seen = 0;
      io_uring_cqe* c;
      io_uring_for_each_cqe(&ring, head, c) {
        ++seen;
        take(*c);
      }
      io_uring_cq_advance(&ring, seen);
      if (returned) io_uring_buf_ring_advance(br, static_cast<int>(returned));
      returned = 0;
      // The other arena is free: this iteration's sends keep theirs, the next ones use it.
      if (in_flight[current] > 0 && in_flight[1 - current] == 0) {
        arena[1 - current].clear();
        current = 1 - current;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 9000);
  const int lfd = listen_on_loopback(port, 0, "raw-uring-echo");
  auto e = std::make_unique<echo>();
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = 16384;
  if (const int rc = io_uring_queue_init_params(4096, &e->ring, &p); rc < 0) {
    std::fprintf(stderr, "raw-uring-echo: io_uring_setup: %s\n", std::strerror(-rc));
    return 1;
  }
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, buffers * sizeof(io_uring_buf)) != 0) return 1;
  e->br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(e->br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(e->br);
  reg.ring_entries = buffers;
  reg.bgid = 0;
  if (const int rc = io_uring_register_buf_ring(&e->ring, &reg, 0); rc < 0) {
    std::fprintf(stderr, "raw-uring-echo: provided buffers: %s\n", std::strerror(-rc));
    return 1;
  }
  for (unsigned i = 0; i < buffers; ++i)
    e->give_back(i);
  io_uring_buf_ring_advance(e->br, static_cast<int>(e->returned));
  e->returned = 0;
  std::printf("raw-uring-echo listening on %u\n", port);
  std::fflush(stdout);
  e->run(lfd);
}
