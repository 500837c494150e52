// Hand-built frames for tests, written independently of the library's encoder so that a bug
// in one cannot hide a bug in the other.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::test {

enum : std::uint8_t {
  fin = 0x80,
  op_cont = 0x0,
  op_text = 0x1,
  op_binary = 0x2,
  op_close = 0x8,
  op_ping = 0x9,
  op_pong = 0xA
};

// `len_form`: 0 picks the minimal encoding; 126 or 127 forces that form (to test minimality).
inline std::string frame(std::uint8_t first, std::string_view payload, bool masked = true,
                         int len_form = 0,
                         std::array<std::uint8_t, 4> key = {0x37, 0xFA, 0x21, 0x3D}) {
  std::string out;
  out += static_cast<char>(first);
  const std::uint64_t n = payload.size();
  const char mask_bit = masked ? '\x80' : '\x00';
  if (len_form == 0) len_form = n < 126 ? 0 : n <= 0xFFFF ? 126 : 127;
  if (len_form == 0) {
    out += static_cast<char>(mask_bit | static_cast<char>(n));
  } else if (len_form == 126) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i)
      out += static_cast<char>((n >> (8 * i)) & 0xFF);
  }
  if (!masked) return out + std::string(payload);
  for (auto k : key)
    out += static_cast<char>(k);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ key[i % 4]);
  return out;
}

inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xFF);
  return p + std::string(reason);
}

// A server (unmasked) frame as parsed by a test client.
struct parsed_frame {
  std::uint8_t first = 0;
  std::string payload;
  std::uint8_t opcode() const { return first & 0x0F; }
  bool fin() const { return (first & 0x80) != 0; }
  std::uint16_t close_code() const {
    return payload.size() >= 2
               ? static_cast<std::uint16_t>(static_cast<std::uint8_t>(payload[0]) << 8 |
                                            static_cast<std::uint8_t>(payload[1]))
               : 1005;
  }
};

// Takes one frame off the front of `buf` if it is complete; masked frames are unmasked.
inline bool take_frame(std::string& buf, parsed_frame& out) {
  if (buf.size() < 2) return false;
  const auto b1 = static_cast<std::uint8_t>(buf[1]);
  std::uint64_t n = b1 & 0x7F;
  std::size_t at = 2;
  if (n == 126) {
    if (buf.size() < 4) return false;
    n = static_cast<std::uint64_t>(static_cast<std::uint8_t>(buf[2])) << 8 |
        static_cast<std::uint8_t>(buf[3]);
    at = 4;
  } else if (n == 127) {
    if (buf.size() < 10) return false;
    n = 0;
    for (int i = 0; i < 8; ++i)
      n = n << 8 | static_cast<std::uint8_t>(buf[2 + static_cast<std::size_t>(i)]);
    at = 10;
  }
  const bool masked = (b1 & 0x80) != 0;
  const std::size_t key_at = at;
  if (masked) at += 4;
  if (buf.size() < at + n) return false;
  out.first = static_cast<std::uint8_t>(buf[0]);
  out.payload = buf.substr(at, n);
  if (masked)
    for (std::size_t i = 0; i < n; ++i)
      out.payload[i] ^= buf[key_at + i % 4];
  buf.erase(0, at + n);
  return true;
}

}  // namespace duplex::test
