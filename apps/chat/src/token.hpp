// Unpredictable hex strings for the chat: reconnection tokens, node ids.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "duplex/core/random.hpp"

namespace duplex::chat {

// 2 * `bytes` hex digits from the system's cryptographic source.
inline std::string random_token(std::size_t bytes = 16) {
  core::system_random rng;
  std::vector<std::byte> raw(bytes);
  rng.fill(raw);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (auto b : raw) {
    out += hex[static_cast<unsigned>(b) >> 4];
    out += hex[static_cast<unsigned>(b) & 15];
  }
  return out;
}

}  // namespace duplex::chat
