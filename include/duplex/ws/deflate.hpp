// permessage-deflate (RFC 7692): negotiation of its four parameters, and the per-connection
// compressor and decompressor.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "duplex/ws/types.hpp"

namespace duplex::ws {

/// What was agreed for one connection.
struct deflate_params {
  /// The server resets its compressor after each message.
  bool server_no_context_takeover = false;
  /// The client resets its compressor after each message.
  bool client_no_context_takeover = false;
  /// The server's LZ77 window, 8 to 15 bits.
  int server_max_window_bits = 15;
  /// The client's LZ77 window, 8 to 15 bits.
  int client_max_window_bits = 15;
};

/// Server: reads a Sec-WebSocket-Extensions request value and accepts the first acceptable
/// permessage-deflate offer. Offers with unknown, repeated or out-of-range parameters, or a
/// window we cannot honor, are declined (RFC 7692 section 5). Returns the agreed parameters and
/// the response header value, or nullopt to run without compression.
struct deflate_agreement {
  /// What was agreed.
  deflate_params params;
  /// The Sec-WebSocket-Extensions value to answer with.
  std::string response;
};
std::optional<deflate_agreement> negotiate_deflate(std::string_view request_header,
                                                   const deflate_options& ours);

/// Client: the offer to send, and the check of the server's answer (which must stay within the
/// offer; anything else fails the handshake).
std::string deflate_offer(const deflate_options& ours);
std::optional<deflate_params> accept_deflate_response(std::string_view response_header,
                                                      const deflate_options& offered);

/// Compresses a whole message as a sender without context takeover does: with a `window_bits`
/// window (9..15) at zlib `level`, appended to `out` without the final 00 00 FF FF. The result
/// is the payload of a compressed frame (RSV1) that every peer which agreed no context takeover
/// for this sender, and a window of at least `window_bits`, inflates: one compression serves
/// many peers. Each thread keeps one zlib stream per window, reset between messages, so that no
/// socket holds compressor memory for it. Returns false for a window out of range.
bool deflate_message(std::string_view in, int window_bits, int level, std::string& out);

/// One side's compressor and decompressor. zlib state is allocated on first use and, without
/// context takeover, freed after every message: an idle connection holds no zlib memory then.
class deflate_codec {
 public:
  /// Inflated, over the limit, or not valid DEFLATE data.
  enum class result { ok, too_big, corrupt };

  /// `server`: which role we play; decides which parameters govern our two directions.
  /// `memory`: the compressor's tier when it keeps context (the agreed window caps it).
  deflate_codec(bool server, const deflate_params& p, int level,
                compressor_memory memory = compressor_memory::kib_256);
  ~deflate_codec();
  deflate_codec(const deflate_codec&) = delete;
  deflate_codec& operator=(const deflate_codec&) = delete;

  /// Compresses a whole message into `out` (appended), without the final 00 00 FF FF.
  /// Returns false if we may not compress (the agreed window is below what zlib supports).
  bool compress(std::string_view in, std::string& out);
  /// Inflates a piece of a compressed message, appending to `out`, which may not grow past
  /// `limit` bytes (too_big once it would: at most one byte past it is ever written, and the
  /// buffer's capacity stops there too). `last` marks the end of the message. The work is in
  /// proportion to the bytes given and produced; an empty piece that is not the last costs none.
  result inflate(std::string_view in, bool last, std::string& out, std::size_t limit);

  /// Bytes of zlib state held right now (for the memory figures in docs/limits.md).
  std::size_t memory() const noexcept;

  /// The window our compressor uses when it keeps no context between messages, so that a
  /// message compressed once by deflate_message() with this window may go to this peer as is;
  /// 0 when it keeps context (or cannot compress): such a peer needs its own compression.
  int shared_window_bits() const noexcept {
    return reset_deflate_ && deflate_bits_ >= 9 ? deflate_bits_ : 0;
  }

  /// The work inflate() has done so far, so tests can bound it per input byte without a clock.
  struct inflate_work {
    std::uint64_t zlib_calls = 0;     ///< calls into zlib's inflate()
    std::uint64_t bytes_written = 0;  ///< bytes stored into `out`: appended, or copied on growth
  };
  /// The work counted so far.
  const inflate_work& work() const noexcept { return work_; }

 private:
  struct zstate;
  result inflate_some(const unsigned char* in, std::size_t n, std::string& out, std::size_t limit);
  bool ensure_deflate();
  bool ensure_inflate();

  std::unique_ptr<zstate> z_;
  int deflate_bits_;
  int inflate_bits_;           ///< the window the peer compresses with
  bool reset_deflate_;         ///< our peer asked us not to keep context between messages
  bool reset_inflate_;         ///< the peer does not keep context: neither need we
  bool stream_ended_ = false;  ///< this message's data ended its deflate stream (BFINAL)
  int level_;
  int mem_level_;  ///< zlib's memLevel for a compressor that keeps context
  inflate_work work_;
};

}  // namespace duplex::ws
