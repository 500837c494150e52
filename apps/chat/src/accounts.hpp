// Registered users in the chat's SQLite file: names that cannot be taken twice or imitated,
// Argon2id password hashes, roles and bans. Synchronous; account_service runs it off the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql.hpp"

namespace duplex::chat {

// A name as the names module (PRECIS, ICU) prepared it: what people see, the key that makes
// names equal (case folded, normalized), and the confusable skeleton (UTS #39) that makes them
// look alike. Two accounts may share neither a key nor a skeleton.
struct name_claim {
  std::string display;
  std::string key;
  std::string skeleton;
};

enum class role : std::uint8_t { user, admin };
std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view s) noexcept;

struct user {
  std::int64_t id = 0;
  std::string name;     // the sign-in name, in the form chosen at registration
  std::string display;  // the name shown in the chat, when the user chose one; else empty
  std::string key;
  enum role role = role::user;
  bool banned = false;
  std::int64_t created_ms = 0;
  // What the chat shows: the display name, or the sign-in name.
  const std::string& shown() const noexcept { return display.empty() ? name : display; }
};

enum class create_result { created, name_taken, name_look_alike };

// Uses a connection it does not own: one per thread (see sql::connection).
class account_store {
 public:
  explicit account_store(sql::connection& db) : db_(db) {}

  // The UNIQUE constraints decide, so two processes cannot both take a name.
  create_result create(const name_claim& name, std::string_view password_hash, role r,
                       std::int64_t now_ms, std::int64_t* id = nullptr);
  // Whether create() would refuse the name now (`created`: it is free). An early answer that
  // saves hashing a password; create() is still what decides. Sign-in and display names of
  // every user count.
  create_result check_name(const name_claim& name);
  // Sets the user's display name (nullopt: none, the sign-in name shows). Refused when it is,
  // or looks like, another user's sign-in or display name; `created` when set.
  create_result set_display(std::int64_t id, const std::optional<name_claim>& display);
  std::optional<user> by_id(std::int64_t id);
  std::optional<user> by_key(std::string_view key);
  // Both by the user's id; nullopt / false when there is no such user.
  std::optional<std::string> password_hash(std::int64_t id);
  bool set_password_hash(std::int64_t id, std::string_view hash, std::int64_t now_ms);
  // Re-hashing with new parameters: only if the hash is still `old` (not changed meanwhile);
  // the password itself stays the same, so its change time does too.
  bool replace_password_hash(std::int64_t id, std::string_view old, std::string_view hash);
  bool set_role(std::int64_t id, role r);
  bool set_banned(std::int64_t id, bool banned);
  // Recomputes every stored look-alike key with `skeleton_of` (an empty answer leaves one as it
  // is): the names module's rules change with upgrades, and with ICU's data. A name whose new
  // key is already another user's keeps its old one, so nobody loses a name they had; those
  // names are returned, for the operator to hear of.
  std::vector<std::string> refresh_skeletons(
      const std::function<std::string(std::string_view)>& skeleton_of);

 private:
  sql::connection& db_;
};

}  // namespace duplex::chat
