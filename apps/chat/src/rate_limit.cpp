#include "rate_limit.hpp"

#include <algorithm>

namespace duplex::chat {

token_bucket::verdict token_bucket::take(std::int64_t now_ms) noexcept {
  // A clock set back refills nothing (and takes nothing): only time that passed refills.
  const auto elapsed = static_cast<double>(std::max<std::int64_t>(now_ms - refilled_ms_, 0));
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_ / 1000.0);
  refilled_ms_ = now_ms;
  const bool had_one = tokens_ >= 1;
  tokens_ -= 1;
  if (had_one) return verdict::pass;
  return tokens_ <= -burst_ ? verdict::close : verdict::refuse;
}

}  // namespace duplex::chat
