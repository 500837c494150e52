// What a socket_handle holds: a token per socket that has handed out handles, and the anchor
// of its loop, which outlives neither its loop nor any token's use of it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

namespace duplex::detail {

struct loop_context;
class socket_conn;

// One per loop. `ctx` is cleared under the mutex when the loop goes, so a handle posts to a
// live loop or not at all.
struct loop_anchor {
  std::mutex mutex;
  loop_context* ctx = nullptr;
};

struct socket_token {
  std::shared_ptr<loop_anchor> anchor;
  socket_conn* conn = nullptr;    // read and cleared on the loop's thread only
  std::atomic<bool> open{false};  // cleared when the socket closes; read by any thread
};

}  // namespace duplex::detail
