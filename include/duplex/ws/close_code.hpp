// Close status codes (RFC 6455 section 7.4) and which of them may appear on the wire.
#pragma once

#include <cstdint>

namespace duplex::ws::close_code {

inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  // never sent: "the close frame had no code"
inline constexpr std::uint16_t abnormal = 1006;   // never sent: "TCP ended without a close"
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t mandatory_extension = 1010;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t service_restart = 1012;
inline constexpr std::uint16_t try_again_later = 1013;
inline constexpr std::uint16_t bad_gateway = 1014;

// Whether a code may be sent or received in a close frame: 1000-1003 and 1007-1011 (RFC 6455
// section 7.4.1), 1012-1014 (registered with IANA since), and 3000-4999 (section 7.4.2).
// 1004-1006, 1015 and the unassigned rest are refused with 1002.
bool is_valid_on_wire(std::uint16_t code) noexcept;

}  // namespace duplex::ws::close_code
