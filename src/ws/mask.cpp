#include "duplex/ws/mask.hpp"

#include <cstring>

namespace duplex::ws {

std::size_t apply_mask(char* data, std::size_t size, mask_key key, std::size_t phase) noexcept {
  phase &= 3;
  auto* p = reinterpret_cast<unsigned char*>(data);
  // Rotate the key so that byte 0 of the word lines up with the payload's current phase.
  unsigned char k[8];
  for (int i = 0; i < 8; ++i)
    k[i] = key[(phase + static_cast<std::size_t>(i)) & 3];
  std::uint64_t word;
  std::memcpy(&word, k, sizeof word);
  std::size_t i = 0;
  // Wide loop: the compiler vectorizes this, and memcpy keeps it free of alignment traps.
  for (; i + 32 <= size; i += 32) {
    std::uint64_t v[4];
    std::memcpy(v, p + i, sizeof v);
    v[0] ^= word;
    v[1] ^= word;
    v[2] ^= word;
    v[3] ^= word;
    std::memcpy(p + i, v, sizeof v);
  }
  for (; i + 8 <= size; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, p + i, sizeof v);
    v ^= word;
    std::memcpy(p + i, &v, sizeof v);
  }
  for (; i < size; ++i)
    p[i] ^= k[i & 7];
  return (phase + size) & 3;
}

}  // namespace duplex::ws
