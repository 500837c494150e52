#include "shard_map.hpp"

namespace duplex::chat {

std::uint64_t shard_map::hash(std::string_view a, std::string_view b) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 0x100000001b3ULL;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));  // ("ab", "c") and ("a", "bc") score apart
  mix(b);
  // FNV's low bits follow the last bytes closely; the finaliser makes every bit depend on all.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::size_t shard_map::of(std::string_view name) const noexcept {
  std::size_t best = 0;
  std::uint64_t best_score = 0;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    const std::uint64_t score = hash(ids_[i], name);
    if (i == 0 || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

}  // namespace duplex::chat
