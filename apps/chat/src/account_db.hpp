// What account_service and the operator's commands need of a database: users, names, password
// hashes, roles, bans and sessions, whatever holds them (the --db SQLite file, or PostgreSQL
// shared by every node). One object is used by one thread at a time; every call throws a
// std::exception when the database cannot answer, and account_service turns that into
// store_failed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts.hpp"
#include "sessions.hpp"

namespace duplex::chat {

// One line of `duplex-chat user list`.
struct user_summary {
  std::int64_t id = 0;
  std::string name;
  enum role role = role::user;
  bool banned = false;
  std::int64_t sessions = 0;
};

class account_db {
 public:
  virtual ~account_db() = default;

  // ----- users (as account_store documents them)
  virtual create_result create_user(const name_claim& name, std::string_view password_hash, role r,
                                    std::int64_t now_ms, std::int64_t* id) = 0;
  virtual create_result check_name(const name_claim& name) = 0;
  virtual create_result set_display(std::int64_t id, const std::optional<name_claim>& display) = 0;
  virtual std::optional<user> by_id(std::int64_t id) = 0;
  virtual std::optional<user> by_key(std::string_view key) = 0;
  virtual std::optional<std::string> password_hash(std::int64_t id) = 0;
  virtual bool replace_password_hash(std::int64_t id, std::string_view old,
                                     std::string_view hash) = 0;
  // Sets the hash and ends every session of the user but `keep` (0: all), in one transaction.
  // nullopt: no such user. Otherwise how many sessions ended.
  virtual std::optional<std::size_t> set_password(std::int64_t id, std::string_view hash,
                                                  std::int64_t now_ms, std::int64_t keep) = 0;
  virtual bool set_role(std::int64_t id, role r) = 0;
  // A ban also ends every session of the user, in the same transaction. nullopt: no such user.
  virtual std::optional<std::size_t> set_banned(std::int64_t id, bool banned) = 0;
  virtual std::vector<user_summary> list_users() = 0;
  virtual std::vector<std::string> refresh_skeletons(
      const std::function<std::string(std::string_view)>& skeleton_of) = 0;

  // ----- sessions (as session_store documents them)
  virtual std::optional<new_session> create_session(std::int64_t user_id,
                                                    std::string_view user_agent,
                                                    std::string_view address, std::int64_t now_ms,
                                                    std::string_view password_hash) = 0;
  virtual std::optional<signed_in> find_session(std::string_view token, std::int64_t now_ms) = 0;
  virtual void touch(std::int64_t session_id, std::int64_t now_ms) = 0;
  virtual std::vector<session_info> list_sessions(std::int64_t user_id, std::int64_t now_ms) = 0;
  virtual bool revoke(std::int64_t user_id, std::int64_t session_id) = 0;
  virtual std::size_t revoke_all(std::int64_t user_id, std::int64_t keep) = 0;
  virtual std::size_t purge_expired(std::int64_t now_ms) = 0;

  // ----- the loop's reads (account_service documents what each answers)
  virtual bool session_exists(std::int64_t session_id) = 0;
  // Whether something that may end a session (a deleted session, a ban, a new password) was
  // committed by another connection since the last call. Throws when it cannot say.
  virtual bool changed_elsewhere() = 0;
  // As changed_elsewhere, with the sessions deleted when the backend knows every one of them,
  // so that the caller closes those sockets without a read per open session.
  struct session_changes {
    bool changed = false;
    std::optional<std::vector<std::int64_t>> ended;  // none: check every session
  };
  virtual session_changes changes_elsewhere() { return {changed_elsewhere(), std::nullopt}; }
  virtual bool name_registered(std::string_view key, std::string_view skeleton) = 0;
  virtual std::optional<std::string> shown_name(std::string_view key) = 0;
  virtual std::optional<std::string> key_of_shown(std::string_view shown_key) = 0;
};

// What a database is opened for: the loop's reads must answer within a tight bound (a backend
// that talks over a network bounds them), the workers' may wait.
enum class account_db_use { loop, worker, command };
using account_db_opener = std::function<std::unique_ptr<account_db>(account_db_use)>;

}  // namespace duplex::chat
