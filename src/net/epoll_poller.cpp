// Readiness through epoll, level-triggered.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "poller.hpp"

namespace duplex::net {
namespace {

// The flags are epoll's own bits, so that no translation runs per event.
static_assert(static_cast<std::uint32_t>(io_events::readable) == EPOLLIN);
static_assert(static_cast<std::uint32_t>(io_events::writable) == EPOLLOUT);
static_assert(static_cast<std::uint32_t>(io_events::error) == EPOLLERR);
static_assert(static_cast<std::uint32_t>(io_events::hangup) == EPOLLHUP);

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

class epoll_poller final : public poller {
 public:
  explicit epoll_poller(std::size_t max_events)
      : fd_(::epoll_create1(EPOLL_CLOEXEC)), events_(max_events), ready_(max_events) {
    if (fd_ < 0) throw_errno("epoll_create1");
  }
  ~epoll_poller() override { ::close(fd_); }

  void add(int fd, io_events interest, io_handler* h) override {
    control(EPOLL_CTL_ADD, fd, interest, h, "epoll_ctl add");
  }
  void modify(int fd, io_events interest, io_handler* h) override {
    control(EPOLL_CTL_MOD, fd, interest, h, "epoll_ctl mod");
  }
  void remove(int fd) noexcept override { ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr); }

  std::span<const ready_event> wait(int timeout_ms) override {
    const int n = ::epoll_wait(fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
    if (n < 0) {
      if (errno != EINTR) throw_errno("epoll_wait");
      return {};
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events_[static_cast<std::size_t>(i)];
      ready_[static_cast<std::size_t>(i)] = {static_cast<io_handler*>(ev.data.ptr),
                                             static_cast<io_events>(ev.events)};
    }
    return {ready_.data(), static_cast<std::size_t>(n)};
  }

 private:
  void control(int op, int fd, io_events interest, io_handler* h, const char* what) {
    epoll_event ev{};
    ev.events = static_cast<std::uint32_t>(interest);
    ev.data.ptr = h;
    if (::epoll_ctl(fd_, op, fd, &ev) != 0) throw_errno(what);
  }

  int fd_;
  std::vector<epoll_event> events_;
  std::vector<ready_event> ready_;
};

}  // namespace

void poller::close(int fd) noexcept {
  remove(fd);
  ::close(fd);
}

std::unique_ptr<poller> make_epoll_poller(std::size_t max_events) {
  return std::make_unique<epoll_poller>(max_events);
}

}  // namespace duplex::net
