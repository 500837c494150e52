// Frame header layout (RFC 6455 section 5.2): opcodes and header encoding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "duplex/ws/mask.hpp"
#include "duplex/ws/types.hpp"

namespace duplex::ws {

inline constexpr std::size_t max_header_size = 14;
inline constexpr std::size_t max_control_payload = 125;

constexpr bool is_control(opcode op) noexcept {
  return (static_cast<unsigned>(op) & 0x8) != 0;
}
constexpr bool is_known(std::uint8_t op) noexcept {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

/// Size of the header for a payload of `size` bytes.
constexpr std::size_t header_size(std::uint64_t size, bool masked) noexcept {
  return (size < 126 ? 2 : size <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0);
}

/// Writes a header with the minimal length encoding into `out` (at least max_header_size bytes)
/// and returns its size. `rsv` holds RSV1..RSV3 in bits 6..4 of the first byte.
std::size_t write_header(char* out, bool fin, opcode op, std::uint64_t size,
                         const mask_key* mask = nullptr, std::uint8_t rsv = 0) noexcept;

}  // namespace duplex::ws
