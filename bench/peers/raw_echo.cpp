// The yardstick: a TCP echo on one epoll loop with no framing at all, so that it costs exactly
// the socket calls a WebSocket echo cannot avoid (one recv and one send per readable socket).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopback_listen.hpp"

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 9000);
  const int lfd = listen_on_loopback(port, SOCK_NONBLOCK, "raw-echo");
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::vector<char> buf(512 * 1024);
  std::unordered_map<int, std::string> backlog;  // bytes the kernel refused, per socket
  std::vector<epoll_event> events(512);
  std::printf("raw-echo listening on %u\n", port);
  std::fflush(stdout);
  for (;;) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          const int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      auto pending = backlog.find(fd);
      if ((events[i].events & EPOLLOUT) && pending != backlog.end()) {
        const ssize_t w = send(fd, pending->second.data(), pending->second.size(), MSG_NOSIGNAL);
        if (w > 0) pending->second.erase(0, static_cast<std::size_t>(w));
        if (pending->second.empty()) {
          backlog.erase(pending);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = fd;
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
        }
        continue;
      }
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        backlog.erase(fd);
        close(fd);
        continue;
      }
      if (pending != backlog.end()) {
        pending->second.append(buf.data(), static_cast<std::size_t>(r));
        continue;
      }
      ssize_t w = send(fd, buf.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL);
      if (w < 0) w = 0;
      if (w < r) {
        backlog[fd].assign(buf.data() + w, static_cast<std::size_t>(r - w));
        epoll_event cev{};
        cev.events = EPOLLIN | EPOLLOUT;
        cev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
      }
    }
  }
}
