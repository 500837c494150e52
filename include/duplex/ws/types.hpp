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

/// Memory for one socket's compressor while it keeps context between messages. Each tier pairs
/// an LZ77 window with a hash table of the same scale (zlib's windowBits and memLevel), so that
/// its state is about the size named (plus some 6 KiB of zlib bookkeeping): kib_4 is a 512-byte
/// window, kib_256 zlib's defaults (a 32 KiB window). A smaller tier compresses text a little
/// less and costs that much less for every idle socket; the agreed window caps it further.
enum class compressor_memory : std::uint8_t {
  kib_4,    ///< 9-bit window, memLevel 2: about 4 KiB
  kib_8,    ///< 10-bit window: about 8 KiB
  kib_16,   ///< 11-bit window: about 16 KiB
  kib_32,   ///< 12-bit window: about 32 KiB
  kib_64,   ///< 13-bit window: about 64 KiB
  kib_128,  ///< 14-bit window: about 128 KiB
  kib_256,  ///< 15-bit window, memLevel 8 (zlib's defaults): about 256 KiB
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
  /// Server only (a client ignores it): agree server_no_context_takeover with every client,
  /// whether it asked or not (RFC 7692 section 7.1.1.1 allows it). The server's compressor then
  /// keeps nothing between messages, so a published message is compressed once per window size
  /// for all its compressing subscribers instead of once for each, and no socket holds
  /// compressor memory between messages. Costs compression ratio on a stream of similar
  /// messages (each is compressed alone).
  bool shared_compressor = false;
  /// The compressor of a socket that keeps context between messages (see compressor_memory).
  compressor_memory memory = compressor_memory::kib_256;
};

}  // namespace duplex::ws
