#include "duplex/ws/error.hpp"

#include "duplex/core/error.hpp"
#include "duplex/ws/close_code.hpp"

namespace duplex::ws {
namespace {

struct entry {
  errc code;
  close_code close;
  const char* text;
};

// The one table from rejected condition to close code.
constexpr entry table[] = {
    {errc::reserved_bits, close_code::protocol_error, "reserved bits set without an extension"},
    {errc::reserved_opcode, close_code::protocol_error, "reserved opcode"},
    {errc::fragmented_control_frame, close_code::protocol_error, "fragmented control frame"},
    {errc::control_frame_too_long, close_code::protocol_error, "control frame over 125 bytes"},
    {errc::non_minimal_length, close_code::protocol_error, "payload length not minimally encoded"},
    {errc::length_top_bit_set, close_code::protocol_error, "64-bit payload length has top bit set"},
    {errc::unmasked_client_frame, close_code::protocol_error, "client frame not masked"},
    {errc::masked_server_frame, close_code::protocol_error, "server frame masked"},
    {errc::unexpected_continuation, close_code::protocol_error, "continuation without a message"},
    {errc::expected_continuation, close_code::protocol_error,
     "new message inside a fragmented one"},
    {errc::invalid_utf8, close_code::invalid_payload, "text is not valid UTF-8"},
    {errc::message_too_big, close_code::message_too_big, "message too big"},
    {errc::too_many_fragments, close_code::policy_violation, "too many fragments"},
    {errc::invalid_compressed_data, close_code::invalid_payload,
     "compressed data does not inflate"},
    {errc::close_payload_too_short, close_code::protocol_error, "close payload of one byte"},
    {errc::invalid_close_code, close_code::protocol_error, "invalid close code"},
    {errc::invalid_close_reason, close_code::invalid_payload, "close reason is not valid UTF-8"},
    {errc::connection_lost, close_code::abnormal, "connection lost without a close frame"},
    {errc::close_timeout, close_code::abnormal, "close handshake timed out"},
    {errc::idle_timeout, close_code::going_away, "idle timeout"},
    {errc::send_queue_full, close_code::policy_violation, "send queue full"},
    {errc::server_shutdown, close_code::going_away, "server shutting down"},
    {errc::internal_error, close_code::internal_error, "internal error"},
};

const entry* find(errc e) {
  return core::find_entry(table, e);
}

const char* describe(errc e) {
  const entry* x = find(e);
  return x ? x->text : "unknown WebSocket error";
}

struct hs_entry {
  handshake_errc code;
  int status;
  const char* text;
};

constexpr hs_entry hs_table[] = {
    {handshake_errc::not_get, 400, "method must be GET"},
    {handshake_errc::not_http11, 400, "HTTP/1.1 or later required"},
    {handshake_errc::missing_host, 400, "missing or repeated Host header"},
    {handshake_errc::duplicate_header, 400, "repeated WebSocket header"},
    {handshake_errc::missing_upgrade, 400, "Upgrade header must be websocket"},
    {handshake_errc::missing_connection_upgrade, 400, "Connection header must contain upgrade"},
    {handshake_errc::missing_key, 400, "missing Sec-WebSocket-Key"},
    {handshake_errc::invalid_key, 400, "Sec-WebSocket-Key must be 16 bytes in base64"},
    {handshake_errc::unsupported_version, 426, "Sec-WebSocket-Version must be 13"},
    {handshake_errc::has_body, 400, "upgrade request must not have a body"},
    {handshake_errc::bad_accept, 400, "Sec-WebSocket-Accept does not match the key"},
    {handshake_errc::not_switching_protocols, 400, "server did not answer 101"},
    {handshake_errc::unexpected_extension, 400, "server chose an extension that was not offered"},
    {handshake_errc::unexpected_subprotocol, 400,
     "server chose a subprotocol that was not offered"},
};

const hs_entry* find(handshake_errc e) {
  return core::find_entry(hs_table, e);
}

const char* describe_hs(handshake_errc e) {
  const hs_entry* x = find(e);
  return x ? x->text : "unknown handshake error";
}

const core::enum_category<errc, describe> category{"duplex.ws"};
const core::enum_category<handshake_errc, describe_hs> hs_category{"duplex.ws.handshake"};

}  // namespace

const std::error_category& ws_category() noexcept {
  return category;
}
std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category};
}

std::uint16_t close_code_for(errc e) noexcept {
  const entry* x = find(e);
  return to_int(x ? x->close : close_code::protocol_error);
}

const std::error_category& handshake_category() noexcept {
  return hs_category;
}
std::error_code make_error_code(handshake_errc e) noexcept {
  return {static_cast<int>(e), hs_category};
}

int status_for(handshake_errc e) noexcept {
  const hs_entry* x = find(e);
  return x ? x->status : 400;
}

}  // namespace duplex::ws
