// A blocking loopback client for server tests: raw bytes in, raw frames and HTTP heads out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "duplex/server/server.hpp"
#include "support/frames.hpp"

namespace duplex::test {

class test_client {
 public:
  explicit test_client(std::uint16_t port);
  ~test_client();
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  void send(std::string_view bytes);
  // The status of the response head (0 on timeout); the head is kept in last_head().
  int read_status(int timeout_ms = 3000);
  const std::string& last_head() const { return head_; }
  // Sends a valid upgrade for `path` (plus `extra` bytes right after it) and returns the status.
  int upgrade(std::string_view path = "/", std::string_view extra = {});
  std::optional<parsed_frame> read_frame(int timeout_ms = 3000);
  // Reads until the server closes TCP; false on timeout.
  bool wait_eof(int timeout_ms = 3000);
  void send_text(std::string_view s) { send(frame(fin | op_text, s)); }
  void shutdown_write();
  void set_receive_buffer(int bytes);
  int fd() const { return fd_; }

 private:
  bool fill(int timeout_ms);

  int fd_ = -1;
  bool eof_ = false;
  std::string buf_;
  std::string head_;
};

// A duplex::server running on its own thread on a free loopback port.
class running_server {
 public:
  running_server(server_options o, const std::function<void(server&)>& setup);
  ~running_server();
  std::uint16_t port() const { return server_.port(); }
  server& get() { return server_; }
  // Blocks until shutdown completes; returns how long it took.
  std::chrono::milliseconds stop();
  bool logged(std::string_view fragment);

 private:
  static server_options prepare(server_options o, running_server* self);
  std::mutex mutex_;
  std::vector<std::string> log_;
  server server_;
  std::thread thread_;
  bool stopped_ = false;
};

// Polls `pred` until it holds or the time runs out.
bool eventually(const std::function<bool()>& pred, int timeout_ms = 3000);

}  // namespace duplex::test
