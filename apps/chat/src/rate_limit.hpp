// Rate limits: a token bucket per sender, which refuses a burst past its size and then tells a
// sender that keeps going apart from one that slowed down.
#pragma once

#include <cstdint>

namespace duplex::chat {

// Each request takes a token; tokens come back at `rate` per second, up to `burst`. A request
// with no token left is refused and deepens a debt; a debt of `burst` asks to close the sender.
class token_bucket {
 public:
  enum class verdict : std::uint8_t { pass, refuse, close };

  token_bucket() = default;
  token_bucket(double rate_per_second, double burst, std::int64_t now_ms) noexcept
      : rate_(rate_per_second), burst_(burst), tokens_(burst), refilled_ms_(now_ms) {}

  verdict take(std::int64_t now_ms) noexcept;
  double tokens() const noexcept { return tokens_; }

 private:
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  std::int64_t refilled_ms_ = 0;
};

}  // namespace duplex::chat
