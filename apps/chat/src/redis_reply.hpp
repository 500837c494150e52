// Reading hiredis's replies without throwing: redis_store's small helpers.
#pragma once

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdint>
#include <string_view>

namespace duplex::chat {

// A number Redis sent as text; 0 for anything else (no std::stoll: nothing here may throw).
inline std::int64_t to_int(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

inline bool is_error(const redisReply* r) {
  return r == nullptr || r->type == REDIS_REPLY_ERROR;
}

inline std::string_view text_of(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len) : std::string_view{};
}

}  // namespace duplex::chat
