#include "duplex/core/utf8.hpp"

#include <cstring>

namespace duplex::core {
namespace {

constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// Skips the ASCII prefix eight bytes at a time; most text on the wire is ASCII.
const unsigned char* skip_ascii(const unsigned char* begin, const unsigned char* p,
                                const unsigned char* end) noexcept {
  while (end - p >= 32) {
    std::uint64_t w[4];
    std::memcpy(w, p, sizeof w);
    if (((w[0] | w[1] | w[2] | w[3]) & high_bits) != 0) break;
    p += 32;
  }
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    if ((w & high_bits) != 0) break;
    p += 8;
  }
  // Fewer than eight bytes left: they are the tail of one word ending at `end`, when the
  // buffer reaches back that far. If none of its bytes is high (some lie before `p`), the rest
  // is ASCII. Saves a byte loop on most short messages; a high byte anywhere in the word only
  // means the loop runs.
  if (p != end && end - p < 8 && end - begin >= 8) {
    std::uint64_t w;
    std::memcpy(&w, end - 8, sizeof w);
    if ((w & high_bits) == 0) return end;
  }
  while (p != end && *p < 0x80)
    ++p;
  return p;
}

}  // namespace

bool utf8_validator::feed(const char* data, std::size_t size) noexcept {
  if (failed_) return false;
  auto* p = reinterpret_cast<const unsigned char*>(data);
  auto* const begin = p;
  auto* end = p + size;
  while (p != end) {
    if (need_ == 0) {
      p = skip_ascii(begin, p, end);
      if (p == end) break;
      const unsigned char b = *p++;
      lo_ = 0x80;
      hi_ = 0xBF;
      // RFC 3629 section 4: C0, C1 and F5..FF never appear; E0/ED/F0/F4 narrow the next byte
      // to exclude overlong forms, surrogates and code points above U+10FFFF.
      if (b >= 0xC2 && b <= 0xDF) {
        need_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need_ = 2;
        if (b == 0xE0) lo_ = 0xA0;
        if (b == 0xED) hi_ = 0x9F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        need_ = 3;
        if (b == 0xF0) lo_ = 0x90;
        if (b == 0xF4) hi_ = 0x8F;
      } else {
        failed_ = true;
        return false;
      }
      continue;
    }
    const unsigned char b = *p++;
    if (b < lo_ || b > hi_) {
      failed_ = true;
      return false;
    }
    lo_ = 0x80;
    hi_ = 0xBF;
    --need_;
  }
  return true;
}

bool is_valid_utf8(std::string_view s) noexcept {
  // All ASCII, as most short texts are: one pass of word tests, no validator state.
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  if (s.size() >= 8 && s.size() <= 256) {
    std::uint64_t any = 0;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, sizeof w);
      any |= w;
    }
    std::uint64_t last;
    std::memcpy(&last, p + s.size() - 8, sizeof last);
    if (((any | last) & high_bits) == 0) return true;
  }
  utf8_validator v;
  return v.feed(s) && v.complete();
}

}  // namespace duplex::core
