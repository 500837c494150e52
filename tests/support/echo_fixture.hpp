// An echo server on "/" for the server tests, recording what its callbacks saw.
#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "support/test_client.hpp"

namespace duplex::test {

struct close_record {
  std::uint16_t code;
  std::string reason;
};

struct echo_fixture {
  std::mutex mutex;
  std::vector<close_record> closes;
  std::atomic<int> opened{0};

  std::vector<close_record> closed() {
    std::lock_guard lock(mutex);
    return closes;
  }

  std::function<void(server&)> setup() {
    return [this](server& s) {
      ws_behavior b;
      b.on_open = [this](websocket&) { ++opened; };
      b.on_message = [](websocket& ws, std::string_view data, ws::opcode op) { ws.send(data, op); };
      b.on_close = [this](websocket&, ws::close_code code_typed, std::string_view reason) {
        const std::uint16_t code = duplex::ws::to_int(code_typed);
        std::lock_guard lock(mutex);
        closes.push_back({code, std::string(reason)});
      };
      s.ws("/", std::move(b));
    };
  }
};

}  // namespace duplex::test
