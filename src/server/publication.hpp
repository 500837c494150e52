// One published message on its way to every loop: framed once as it is, and compressed once per
// window for the subscribers whose compressors keep no context between messages.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>

#include "duplex/net/send_queue.hpp"
#include "duplex/ws/types.hpp"

namespace duplex::detail {

// The compressed frames of one publication, made on first demand by whichever loop has a
// subscriber that takes them (loops run on their own threads, hence the once flags): a message
// nobody compressing receives is never compressed.
class packed_frames {
 public:
  packed_frames(net::shared_bytes plain, std::size_t header, ws::opcode op, int level)
      : plain_(std::move(plain)), header_(header), op_(op), level_(level) {}
  // The frame compressed with a `bits` window (9..15), or null if it cannot be made.
  const net::shared_bytes& frame(int bits);
  std::string_view payload() const noexcept { return std::string_view(*plain_).substr(header_); }
  ws::opcode op() const noexcept { return op_; }

 private:
  net::shared_bytes plain_;
  std::size_t header_;
  ws::opcode op_;
  int level_;
  std::array<std::once_flag, 7> once_;
  std::array<net::shared_bytes, 7> frames_;
};

struct publication {
  net::shared_bytes plain;                // for subscribers without compression
  std::shared_ptr<packed_frames> packed;  // null when the message is not to be compressed
};

}  // namespace duplex::detail
