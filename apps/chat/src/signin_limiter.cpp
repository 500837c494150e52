#include "signin_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace duplex::chat {
namespace {

constexpr std::size_t max_key_bytes = 256;

}  // namespace

bool bucket_table::has(std::string_view key) const {
  return index_.find(key.substr(0, max_key_bytes)) != index_.end();
}

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

bucket_table& signin_limiter::account_table(std::string_view account, std::string_view address,
                                            std::string& key) {
  key.assign(account).append(1, '\n').append(address);
  if (known_.has(key)) return known_;
  key.assign(account);
  return accounts_;
}

std::chrono::milliseconds signin_limiter::attempt(std::string_view account,
                                                  std::string_view address,
                                                  limiter_clock::time_point now) {
  auto wait = addresses_.wait(address, now);
  std::string key;
  bucket_table* table = account.empty() ? nullptr : &account_table(account, address, key);
  if (table) wait = std::max(wait, table->wait(key, now));
  if (wait.count() > 0) return wait;
  addresses_.take(address, now);
  if (table) table->take(key, now);
  return wait;
}

void signin_limiter::succeeded(std::string_view account, std::string_view address,
                               limiter_clock::time_point now) {
  if (account.empty()) return;
  std::string key;
  account_table(account, address, key).give_back(key, now);
  const std::string pair = std::string(account) + '\n' + std::string(address);
  if (!known_.has(pair)) known_.give_back(pair, now);  // made, full
}

void signin_limiter::cancel(std::string_view account, std::string_view address,
                            limiter_clock::time_point now) {
  addresses_.give_back(address, now);
  if (account.empty()) return;
  std::string key;
  account_table(account, address, key).give_back(key, now);
}

}  // namespace duplex::chat
