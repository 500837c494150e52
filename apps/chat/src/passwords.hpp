// Passwords: the rules a new one must meet (NIST SP 800-63B: length only, no composition
// rules) and Argon2id hashing through libsodium. Hashing takes tens of milliseconds and tens
// of MiB on purpose: call it from a worker (account_service), never from an event loop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::chat {

// Argon2id work factors: libsodium's named levels, or any values at least its minimum.
struct hash_cost {
  unsigned long long ops = 0;
  std::size_t mem = 0;
  static hash_cost interactive() noexcept;  // 2 passes, 64 MiB: the default
  static hash_cost moderate() noexcept;     // 3 passes, 256 MiB
  static hash_cost minimum() noexcept;      // for tests only: 1 pass, 8 KiB
};

struct password_rules {
  std::size_t min_chars = 8;    // code points, after normalization
  std::size_t max_bytes = 256;  // as received: bounds the work before hashing
};

enum class password_problem { none, too_short, too_long, not_text, same_as_name };

// What each problem means, for people.
std::string_view describe(password_problem p) noexcept;

// Normalizes `raw` to NFKC (SP 800-63B 5.1.1.2: the same password typed on two keyboards is
// the same password) into `out`, and checks it: valid UTF-8 with no control characters and no
// unassigned code points (whose normalization could change with a later Unicode), at least
// `min_chars` code points, at most `max_bytes` bytes, and not the user's own name (compared
// ignoring ASCII case; `name` may be empty to skip).
password_problem prepare_password(std::string_view raw, const password_rules& rules,
                                  std::string_view name, std::string& out);

// An encoded Argon2id hash ("$argon2id$v=19$m=...") of a prepared password; nullopt when
// memory for it could not be had.
std::optional<std::string> hash_password(std::string_view prepared, const hash_cost& cost);
// Constant in time with respect to the password; false for a malformed hash as well.
bool verify_password(std::string_view encoded, std::string_view prepared);
// True when `encoded` was made with other parameters than `cost` (or another algorithm):
// re-hash the password at the next successful sign-in.
bool needs_rehash(std::string_view encoded, const hash_cost& cost);

}  // namespace duplex::chat
