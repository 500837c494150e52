#include "duplex/ws/frame.hpp"

namespace duplex::ws {

std::size_t write_header(char* out, bool fin, opcode op, std::uint64_t size, const mask_key* mask,
                         std::uint8_t rsv) noexcept {
  auto* p = reinterpret_cast<unsigned char*>(out);
  p[0] = static_cast<unsigned char>((fin ? 0x80 : 0) | (rsv & 0x70) | static_cast<unsigned>(op));
  const unsigned char mask_bit = mask ? 0x80 : 0;
  std::size_t n = 2;
  if (size < 126) {
    p[1] = static_cast<unsigned char>(mask_bit | size);
  } else if (size <= 0xFFFF) {
    p[1] = mask_bit | 126;
    p[2] = static_cast<unsigned char>(size >> 8);
    p[3] = static_cast<unsigned char>(size);
    n = 4;
  } else {
    p[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i)
      p[2 + i] = static_cast<unsigned char>(size >> (56 - 8 * i));
    n = 10;
  }
  if (mask) {
    for (int i = 0; i < 4; ++i)
      p[n + static_cast<std::size_t>(i)] = (*mask)[static_cast<std::size_t>(i)];
    n += 4;
  }
  return n;
}

}  // namespace duplex::ws
