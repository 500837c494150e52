#include "support/test_client.hpp"

#include "support/loopback_listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace duplex::test {

test_client::test_client(std::uint16_t port) {
  fd_ = connect_loopback(port);
  if (fd_ < 0) throw std::runtime_error("connect failed");
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

test_client::~test_client() {
  if (fd_ >= 0) ::close(fd_);
}

void test_client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may already have closed; the test checks what it sees
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void test_client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

void test_client::set_receive_buffer(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

bool test_client::fill(int timeout_ms) {
  if (eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char tmp[65536];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

int test_client::read_status(int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t pos;
  while ((pos = buf_.find("\r\n\r\n")) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !fill(static_cast<int>(left.count()))) return 0;
  }
  head_ = buf_.substr(0, pos + 4);
  buf_.erase(0, pos + 4);
  // A body announced by Content-Length is consumed too, so the next read starts clean.
  const auto cl = head_.find("Content-Length: ");
  if (cl != std::string::npos) {
    const std::size_t len = std::stoul(head_.substr(cl + 16));
    while (buf_.size() < len && fill(timeout_ms)) {
    }
    head_ += buf_.substr(0, len);
    buf_.erase(0, std::min(len, buf_.size()));
  }
  return std::stoi(head_.substr(9, 3));
}

int test_client::upgrade(std::string_view path, std::string_view extra) {
  std::string req =
      "GET " + std::string(path) +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  send(req + std::string(extra));
  return read_status();
}

std::optional<parsed_frame> test_client::read_frame(int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  parsed_frame f;
  while (!take_frame(buf_, f)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !fill(static_cast<int>(left.count()))) return std::nullopt;
  }
  return f;
}

bool test_client::wait_eof(int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!eof_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    fill(static_cast<int>(left.count()));
  }
  return true;
}

server_options running_server::prepare(server_options o, running_server* self) {
  o.handle_signals = false;
  o.host = "127.0.0.1";
  o.port = 0;
  o.log = [self](std::string_view line) {
    std::lock_guard lock(self->mutex_);
    self->log_.emplace_back(line);
  };
  return o;
}

running_server::running_server(server_options o, const std::function<void(server&)>& setup)
    : server_(prepare(std::move(o), this)) {
  setup(server_);
  server_.listen();
  thread_ = std::thread([this] { server_.run(); });
}

std::chrono::milliseconds running_server::stop() {
  const auto start = std::chrono::steady_clock::now();
  if (!stopped_) {
    stopped_ = true;
    server_.shutdown();
    thread_.join();
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

running_server::~running_server() {
  stop();
}

bool running_server::logged(std::string_view fragment) {
  std::lock_guard lock(mutex_);
  for (const auto& l : log_)
    if (l.find(fragment) != std::string::npos) return true;
  return false;
}

bool eventually(const std::function<bool()>& pred, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace duplex::test
