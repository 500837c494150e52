// Base64 (RFC 4648 section 4, with padding) for the handshake's key and accept values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace duplex::core {

std::string base64_encode(std::string_view bytes);

/// Strict: only the standard alphabet, padding required to a multiple of four, no whitespace,
/// and unused bits of the last character must be zero. Anything else yields nullopt.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace duplex::core
