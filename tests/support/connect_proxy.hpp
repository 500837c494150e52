// Starts tests/support/connect_proxy.py (a CONNECT proxy on 127.0.0.1) and ends it by PID.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef DUPLEX_TEST_SUPPORT_DIR
#error "DUPLEX_TEST_SUPPORT_DIR must name tests/support"
#endif

namespace duplex::test {

class connect_proxy {
 public:
  // `extra`: arguments such as {"--auth", "u:p"} or {"--answer", "502"}.
  explicit connect_proxy(std::vector<std::string> extra = {}) {
    static int n = 0;
    log_ = (std::filesystem::temp_directory_path() /
            ("duplex-proxy-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".log"))
               .string();
    std::filesystem::remove(log_);
    std::vector<std::string> args = {"/usr/bin/python3",
                                     std::string(DUPLEX_TEST_SUPPORT_DIR) + "/connect_proxy.py",
                                     "--log", log_};
    args.insert(args.end(), extra.begin(), extra.end());
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    char buf[16] = {};
    std::size_t got = 0;
    while (got < sizeof buf - 1) {
      const ssize_t r = ::read(out[0], buf + got, 1);
      if (r <= 0 || buf[got] == '\n') break;
      ++got;
    }
    ::close(out[0]);
    port_ = static_cast<std::uint16_t>(std::atoi(buf));
  }
  ~connect_proxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(log_);
  }
  connect_proxy(const connect_proxy&) = delete;
  connect_proxy& operator=(const connect_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The CONNECT request lines the proxy saw, in order.
  std::vector<std::string> requests() const {
    std::ifstream in(log_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    return lines;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string log_;
};

}  // namespace duplex::test
