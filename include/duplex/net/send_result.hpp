// What became of a send: written, queued behind a slow reader, dropped, or refused.
#pragma once

#include <cstddef>
#include <cstdint>

namespace duplex {

/// What became of one send.
enum class send_status : std::uint8_t {
  sent,      ///< the kernel took every byte
  buffered,  ///< queued: the peer reads slower than we write (see buffered_amount)
  dropped,   ///< not sent: the send queue is over its limit and the policy drops
  closed,    ///< not sent: the connection is closing or closed
};

/// The outcome of a send: its status and the queue left behind it.
struct send_result {
  /// What became of the message.
  send_status status = send_status::sent;
  std::size_t buffered_amount = 0;  ///< bytes waiting in this socket's queue after the call
  /// True when the message went out or was queued.
  explicit operator bool() const noexcept {
    return status == send_status::sent || status == send_status::buffered;
  }
};

}  // namespace duplex
