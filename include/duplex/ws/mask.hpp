// XOR masking of payload bytes (RFC 6455 section 5.3), eight bytes per step.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace duplex::ws {

using mask_key = std::array<std::uint8_t, 4>;

/// Masks (or unmasks) `size` bytes in place. `phase` is the payload offset of data[0] modulo 4,
/// so a payload can be masked in pieces; returns the phase after the last byte.
std::size_t apply_mask(char* data, std::size_t size, mask_key key, std::size_t phase) noexcept;

}  // namespace duplex::ws
