#include "signin_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace duplex::chat {
namespace {

constexpr std::size_t max_key_bytes = 256;

}  // namespace

bucket_table::entry& bucket_table::find(std::string_view key, limiter_clock::time_point now) {
  key = key.substr(0, max_key_bytes);
  auto it = index_.find(key);
  if (it != index_.end()) {
    lru_.splice(lru_.end(), lru_, it->second);
  } else {
    if (index_.size() >= std::max<std::size_t>(max_, 1)) {
      index_.erase(lru_.front().key);
      lru_.pop_front();
    }
    lru_.push_back({std::string(key), rule_.burst, now});
    it = index_.emplace(lru_.back().key, std::prev(lru_.end())).first;
  }
  entry& e = *it->second;
  if (now > e.at) {
    const double earned =
        std::chrono::duration<double>(now - e.at) / std::chrono::duration<double>(rule_.every);
    e.tokens = std::min(rule_.burst, e.tokens + earned);
    e.at = now;
  }
  return e;
}

std::chrono::milliseconds bucket_table::wait(std::string_view key, limiter_clock::time_point now) {
  const entry& e = find(key, now);
  if (e.tokens >= 1 - 1e-9) return std::chrono::milliseconds(0);  // float sums of refills
  const double ms = (1 - e.tokens) * static_cast<double>(rule_.every.count());
  return std::chrono::milliseconds(std::max<long long>(1, std::llround(std::ceil(ms))));
}

void bucket_table::take(std::string_view key, limiter_clock::time_point now) {
  find(key, now).tokens -= 1;
}

void bucket_table::give_back(std::string_view key, limiter_clock::time_point now) {
  entry& e = find(key, now);
  e.tokens = std::min(rule_.burst, e.tokens + 1);
}

std::chrono::milliseconds signin_limiter::attempt(std::string_view account,
                                                  std::string_view address,
                                                  limiter_clock::time_point now) {
  auto wait = addresses_.wait(address, now);
  if (!account.empty()) wait = std::max(wait, accounts_.wait(account, now));
  if (wait.count() > 0) return wait;
  addresses_.take(address, now);
  if (!account.empty()) accounts_.take(account, now);
  return wait;
}

void signin_limiter::succeeded(std::string_view account, limiter_clock::time_point now) {
  if (!account.empty()) accounts_.give_back(account, now);
}

void signin_limiter::cancel(std::string_view account, std::string_view address,
                            limiter_clock::time_point now) {
  addresses_.give_back(address, now);
  succeeded(account, now);
}

}  // namespace duplex::chat
