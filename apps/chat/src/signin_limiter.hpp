// Sign-in attempts limited per account and per client address: token buckets in two tables of
// bounded size (the least recently used entry is forgotten first), answering how long to wait.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace duplex::chat {

using limiter_clock = std::chrono::steady_clock;

// `burst` attempts at once, then one more every `every`.
struct bucket_rule {
  double burst = 10;
  std::chrono::milliseconds every{60'000};
};

struct signin_limits {
  bucket_rule account{10, std::chrono::seconds(60)};  // guesses at one password
  bucket_rule address{30, std::chrono::seconds(2)};   // hashing work one client can cause
  std::size_t max_tracked = 10'000;                   // per table
};

// One table of buckets. A forgotten entry starts full again, which loses nothing once it has
// refilled; the bound makes sure a flood of new keys costs memory it cannot grow.
class bucket_table {
 public:
  bucket_table(bucket_rule rule, std::size_t max_entries) : rule_(rule), max_(max_entries) {}
  // 0 when a token is there now, else how long until one is.
  std::chrono::milliseconds wait(std::string_view key, limiter_clock::time_point now);
  void take(std::string_view key, limiter_clock::time_point now);
  void give_back(std::string_view key, limiter_clock::time_point now);
  // Whether the key has an entry (without touching it).
  bool has(std::string_view key) const;
  std::size_t size() const noexcept { return index_.size(); }

 private:
  struct entry {
    std::string key;
    double tokens = 0;
    limiter_clock::time_point at;
  };
  entry& find(std::string_view key, limiter_clock::time_point now);

  bucket_rule rule_;
  std::size_t max_;
  std::list<entry> lru_;  // least recently used first
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;
};

class signin_limiter {
 public:
  explicit signin_limiter(const signin_limits& l)
      : accounts_(l.account, l.max_tracked),
        addresses_(l.address, l.max_tracked),
        known_(l.account, l.max_tracked) {}

  // One attempt from `address` (see address_key) at `account` (the sign-in key asked for,
  // known before any read, whether or not such an account exists; empty: the address only).
  // Unknown names enter the account table only as fast as the address limit lets them. 0:
  // allowed and charged to both; otherwise nothing is charged and the answer is how long until
  // both would allow it.
  std::chrono::milliseconds attempt(std::string_view account, std::string_view address,
                                    limiter_clock::time_point now);
  // The password was right: the account's token comes back, so that signing in often never
  // locks a user out; the address keeps its charge (it bounds hashing work). The address is
  // known for the account from now on: its attempts at that account draw on a bucket of their
  // own, so a stranger who spends the account's bucket from elsewhere cannot lock the user out
  // where they signed in before.
  void succeeded(std::string_view account, std::string_view address, limiter_clock::time_point now);
  // The attempt could not be made after all (the server was busy): both tokens come back.
  void cancel(std::string_view account, std::string_view address, limiter_clock::time_point now);

  std::size_t tracked_accounts() const noexcept { return accounts_.size(); }
  std::size_t tracked_addresses() const noexcept { return addresses_.size(); }

 private:
  // The account's own bucket, or the one of (account, address) when the address is known.
  bucket_table& account_table(std::string_view account, std::string_view address, std::string& key);

  bucket_table accounts_;
  bucket_table addresses_;
  bucket_table known_;  // (account, address) pairs that signed in, with their own buckets
};

}  // namespace duplex::chat
