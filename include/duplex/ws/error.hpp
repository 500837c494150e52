// Every condition on which a WebSocket endpoint refuses input, and the close code it sends.
#pragma once

#include <cstdint>
#include <system_error>

namespace duplex::ws {

enum class errc {
  /// Framing (RFC 6455 section 5.2).
  reserved_bits = 1,
  reserved_opcode,
  fragmented_control_frame,
  control_frame_too_long,
  non_minimal_length,
  length_top_bit_set,
  unmasked_client_frame,
  masked_server_frame,
  unexpected_continuation,
  expected_continuation,
  /// Messages.
  invalid_utf8,
  message_too_big,
  too_many_fragments,
  invalid_compressed_data,  ///< permessage-deflate data that does not inflate
  /// Close frames (RFC 6455 sections 5.5.1 and 7.4).
  close_payload_too_short,
  invalid_close_code,
  invalid_close_reason,
  /// Transport.
  connection_lost,  ///< TCP ended without a close frame
  close_timeout,    ///< the peer did not answer our close frame in time
  idle_timeout,     ///< nothing received for too long, not even a pong
  send_queue_full,  ///< the peer does not read what we send
  server_shutdown,
  internal_error,  ///< the application or the glue failed (an exception) while handling it
};

const std::error_category& ws_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// The close code sent (or reported, for transport errors) for a given error.
std::uint16_t close_code_for(errc e) noexcept;

/// Why an opening handshake was refused, and the HTTP status for each.
enum class handshake_errc {
  not_get = 1,
  not_http11,
  missing_host,
  duplicate_header,
  missing_upgrade,
  missing_connection_upgrade,
  missing_key,
  invalid_key,
  unsupported_version,
  has_body,
  /// Client side: what a server's answer may not do (RFC 6455 section 4.1).
  bad_accept,
  not_switching_protocols,
  unexpected_extension,
  unexpected_subprotocol,
};

const std::error_category& handshake_category() noexcept;
std::error_code make_error_code(handshake_errc e) noexcept;
int status_for(handshake_errc e) noexcept;

}  // namespace duplex::ws

/// @cond  std::error_code plumbing, not API of its own
template <>
struct std::is_error_code_enum<duplex::ws::errc> : std::true_type {};
template <>
struct std::is_error_code_enum<duplex::ws::handshake_errc> : std::true_type {};
/// @endcond
