// Signed-in sessions: a 256-bit random token per device, kept in the database only as its
// SHA-256 (a copy of the file yields no live cookie), with absolute and idle expiry and a
// bounded number per user. Synchronous; account_service decides which thread runs what.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts.hpp"
#include "sql.hpp"

namespace duplex::chat {

struct session_limits {
  std::chrono::seconds lifetime{std::chrono::hours(24 * 30)};  // from sign-in, whatever the use
  std::chrono::seconds idle{std::chrono::hours(24 * 7)};       // since last seen
  std::size_t max_per_user = 32;  // a new one beyond it ends the least recently seen
  std::size_t max_user_agent_bytes = 256;
  std::chrono::seconds touch_every{60};  // last-seen is written at most this often per session
};

struct session_info {
  std::int64_t id = 0;  // public: names the session in a list, never signs anyone in
  std::int64_t user_id = 0;
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::string user_agent;
  std::string address;
};

struct signed_in {
  session_info session;
  user who;
};

struct new_session {
  std::string token;  // 64 hex digits: goes into the cookie, and nowhere else
  session_info info;
};

// A fresh random token for a cookie and the digest (SHA-256, 32 bytes) stored in its place.
struct token_and_digest {
  std::string token;
  std::string digest;
};
token_and_digest make_token();
// The digest of a well-formed token (exactly 64 lower-case hex digits); nullopt for anything
// else, which then costs no lookup.
std::optional<std::string> token_digest(std::string_view token);
// Compares two digests in constant time, so that no code path compares secrets byte by byte.
bool same_digest(std::string_view a, std::string_view b) noexcept;
bool session_expired(const session_limits& limits, const session_info& s,
                     std::int64_t now_ms) noexcept;

// Printable ASCII only (anything else becomes '?'), at most `max_bytes`: it is shown back to
// the user in the list of sessions.
std::string clean_user_agent(std::string_view raw, std::size_t max_bytes);

class session_store {
 public:
  session_store(sql::connection& db, session_limits limits) : db_(db), limits_(limits) {}

  // Also ends the user's expired sessions, and the least recently seen ones beyond the limit.
  // In the same transaction it checks that the user exists, is not banned and, when
  // `password_hash` is not empty, still has that hash: a sign-in verified against a password
  // that was changed (or a user banned) meanwhile, by this process or another, opens nothing.
  std::optional<new_session> create(std::int64_t user_id, std::string_view user_agent,
                                    std::string_view address, std::int64_t now_ms,
                                    std::string_view password_hash = {});
  // The live session a token names, and its user: nullopt for a malformed, unknown, expired
  // or revoked token, or a banned user. One lookup by primary key and one by the users' key.
  std::optional<signed_in> find(std::string_view token, std::int64_t now_ms);
  bool expired(const session_info& s, std::int64_t now_ms) const noexcept;
  // Whether last-seen is old enough to be written again (see touch_every).
  bool stale(const session_info& s, std::int64_t now_ms) const noexcept;
  void touch(std::int64_t session_id, std::int64_t now_ms);
  // Live sessions of a user, most recently seen first.
  std::vector<session_info> list(std::int64_t user_id, std::int64_t now_ms);
  // Only a session of `user_id`: a user cannot end someone else's by guessing its id.
  bool revoke(std::int64_t user_id, std::int64_t session_id);
  // Every session of the user but `keep` (0: all). Returns how many ended.
  std::size_t revoke_all(std::int64_t user_id, std::int64_t keep = 0);
  // Deletes every expired session (run now and then off the loop). Returns how many.
  std::size_t purge_expired(std::int64_t now_ms);

 private:
  sql::connection& db_;
  session_limits limits_;
};

}  // namespace duplex::chat
