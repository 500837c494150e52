// Incremental UTF-8 validator (RFC 3629): feed bytes in any split, learn at the first bad byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace duplex::core {

/// Checks UTF-8 incrementally (RFC 3629: no overlong forms, surrogates or values past
/// U+10FFFF), so that a text message split over frames is validated as it arrives.
class utf8_validator {
 public:
  /// Returns false as soon as the bytes seen so far cannot begin valid UTF-8; the failure is
  /// sticky until reset().
  bool feed(const char* data, std::size_t size) noexcept;
  /// feed() of a string view.
  bool feed(std::string_view s) noexcept { return feed(s.data(), s.size()); }

  /// True when every code point fed so far is complete (no sequence is cut in the middle).
  bool complete() const noexcept { return !failed_ && need_ == 0; }
  /// True once invalid bytes were seen.
  bool failed() const noexcept { return failed_; }
  /// Forgets everything fed, for the next message.
  void reset() noexcept { *this = utf8_validator{}; }

 private:
  std::uint8_t need_ = 0;   ///< continuation bytes still expected
  std::uint8_t lo_ = 0x80;  ///< allowed range of the next continuation byte
  std::uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

/// Whole-buffer check.
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace duplex::core
