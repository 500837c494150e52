// The WebSocket vocabulary an application names (opcodes, states, limits, deflate options,
// close codes), without the protocol machinery or any system header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "duplex/ws/close_code.hpp"

namespace duplex::ws {

enum class opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

enum class role : std::uint8_t { server, client };

/// Limits on what a peer sends.
struct limits {
  std::size_t max_message_bytes = 16 * 1024 * 1024;  ///< a message of exactly this size passes
  std::size_t max_fragments = 128 * 1024;            ///< frames per message
  /// Deliver data as `fragment` events as bytes arrive, instead of whole `message` events; the
  /// message limit then does not apply (the application sees every piece and decides).
  bool stream_fragments = false;
};

enum class state : std::uint8_t {
  open,     ///< messages flow both ways
  closing,  ///< we sent a close frame and wait for the peer's
  closed,   ///< close handshake done, or the connection failed: no more input is read
};

/// What an endpoint is willing to do.
struct deflate_options {
  /// Offer (client) or accept (server) permessage-deflate.
  bool enabled = false;
  int server_max_window_bits = 15;  ///< 9..15: the window the server compresses with
  int client_max_window_bits = 15;  ///< 9..15: asked of the client (a server asks only if offered)
  /// Ask that the server reset its compressor after each message.
  bool server_no_context_takeover = false;
  /// Ask that the client reset its compressor after each message.
  bool client_no_context_takeover = false;
  int level = 6;              ///< zlib level for what we send
  std::size_t min_size = 32;  ///< smaller messages are sent uncompressed
};

}  // namespace duplex::ws
