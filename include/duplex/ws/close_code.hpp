// Close status codes (RFC 6455 section 7.4): the registered ones by name, the range for
// applications, and which codes may appear on the wire.
#pragma once

#include <cstdint>

namespace duplex::ws {

/// Any code a peer may send fits (the type is the wire's 16 bits); the names are the registered
/// ones. Applications use 4000-4999 (section 7.4.2): application_code(n) is 4000 + n.
enum class close_code : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  no_status = 1005,  ///< never sent: "the close frame had no code"
  abnormal = 1006,   ///< never sent: "TCP ended without a close"
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  mandatory_extension = 1010,
  internal_error = 1011,
  service_restart = 1012,
  try_again_later = 1013,
  bad_gateway = 1014,
};

constexpr std::uint16_t to_int(close_code c) noexcept {
  return static_cast<std::uint16_t>(c);
}

inline constexpr std::uint16_t application_first = 4000;
inline constexpr std::uint16_t application_last = 4999;

/// The application's own code number n (0-999), 4000 + n; a larger n is held to 4999 so the
/// result never leaves the application range.
constexpr close_code application_code(std::uint16_t n) noexcept {
  const unsigned v = application_first + (n > 999 ? 999u : n);
  return static_cast<close_code>(v);
}
constexpr bool is_application(close_code c) noexcept {
  return to_int(c) >= application_first && to_int(c) <= application_last;
}
/// n of an application code (application_code(n)); meaningful only when is_application(c).
constexpr std::uint16_t application_number(close_code c) noexcept {
  return static_cast<std::uint16_t>(to_int(c) - application_first);
}

/// Whether a code may be sent or received in a close frame: 1000-1003 and 1007-1011 (RFC 6455
/// section 7.4.1), 1012-1014 (registered with IANA since), and 3000-4999 (section 7.4.2).
/// 1004-1006, 1015 and the unassigned rest are refused with 1002.
bool is_valid_on_wire(std::uint16_t code) noexcept;
inline bool is_valid_on_wire(close_code code) noexcept {
  return is_valid_on_wire(to_int(code));
}

}  // namespace duplex::ws
