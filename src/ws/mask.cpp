#include "duplex/ws/mask.hpp"

#include <bit>
#include <cstring>

namespace duplex::ws {

std::size_t apply_mask(char* data, std::size_t size, mask_key key, std::size_t phase) noexcept {
  phase &= 3;
  auto* p = reinterpret_cast<unsigned char*>(data);
  // The key as it lines up with the payload's current phase: byte j of a word in memory is
  // key[(phase + j) & 3]. One rotation, not a byte loop: most messages are a few dozen bytes,
  // and the set-up would otherwise cost as much as the masking.
  std::uint32_t k32;
  std::memcpy(&k32, key.data(), sizeof k32);
  const unsigned bits = static_cast<unsigned>(phase) * 8;
  if constexpr (std::endian::native == std::endian::little)
    k32 = std::rotr(k32, static_cast<int>(bits));
  else
    k32 = std::rotl(k32, static_cast<int>(bits));
  const std::uint64_t word = static_cast<std::uint64_t>(k32) << 32 | k32;
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
  if (i + 4 <= size) {  // four bytes are a whole turn of the key: the phase stays
    std::uint32_t v;
    std::memcpy(&v, p + i, sizeof v);
    v ^= k32;
    std::memcpy(p + i, &v, sizeof v);
    i += 4;
  }
  unsigned char k[4];
  std::memcpy(k, &k32, sizeof k);
  for (std::size_t j = 0; i < size; ++i, ++j)
    p[i] ^= k[j];
  return (phase + size) & 3;
}

}  // namespace duplex::ws
