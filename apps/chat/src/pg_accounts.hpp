// The accounts in PostgreSQL, shared by every node of a --pg deployment: users, the names they
// hold (and their look-alike keys), password hashes, roles, bans and sessions, as account_db.
// Every statement is bounded (pg_sync); a name is one row of name_claims, whose primary key
// decides a race between nodes; a deleted session is announced on the channel duplex_sessions
// (a trigger), which each node's loop connection LISTENs to.
#pragma once

#include <chrono>
#include <string>

#include "account_db.hpp"
#include "pg_sync.hpp"

namespace duplex::chat {

class pg_account_db final : public account_db {
 public:
  pg_account_db(pg_sync_options opts, session_limits limits);

  create_result create_user(const name_claim& name, std::string_view password_hash, role r,
                            std::int64_t now_ms, std::int64_t* id) override;
  create_result check_name(const name_claim& name) override;
  create_result set_display(std::int64_t id, const std::optional<name_claim>& display) override;
  std::optional<user> by_id(std::int64_t id) override;
  std::optional<user> by_key(std::string_view key) override;
  std::optional<std::string> password_hash(std::int64_t id) override;
  bool replace_password_hash(std::int64_t id, std::string_view old, std::string_view hash) override;
  std::optional<std::size_t> set_password(std::int64_t id, std::string_view hash,
                                          std::int64_t now_ms, std::int64_t keep) override;
  bool set_role(std::int64_t id, role r) override;
  std::optional<std::size_t> set_banned(std::int64_t id, bool banned) override;
  std::vector<user_summary> list_users() override;
  std::vector<std::string> refresh_skeletons(
      const std::function<std::string(std::string_view)>& skeleton_of) override;

  std::optional<new_session> create_session(std::int64_t user_id, std::string_view user_agent,
                                            std::string_view address, std::int64_t now_ms,
                                            std::string_view password_hash) override;
  std::optional<signed_in> find_session(std::string_view token, std::int64_t now_ms) override;
  void touch(std::int64_t session_id, std::int64_t now_ms) override;
  std::vector<session_info> list_sessions(std::int64_t user_id, std::int64_t now_ms) override;
  bool revoke(std::int64_t user_id, std::int64_t session_id) override;
  std::size_t revoke_all(std::int64_t user_id, std::int64_t keep) override;
  std::size_t purge_expired(std::int64_t now_ms) override;

  bool session_exists(std::int64_t session_id) override;
  // A notification on duplex_sessions since the last call, or a new connection (a deletion may
  // have been missed while there was none). False, without throwing, while PostgreSQL cannot be
  // reached: no session can end meanwhile, and the reconnection reports true.
  bool changed_elsewhere() override;
  // The ids come as the notifications' payloads (the trigger sends each deleted session's id);
  // after a reconnection, or past pg_sync::max_kept_notices, they are not all known.
  session_changes changes_elsewhere() override;
  bool name_registered(std::string_view key, std::string_view skeleton) override;
  std::optional<std::string> shown_name(std::string_view key) override;
  std::optional<std::string> key_of_shown(std::string_view shown_key) override;

 private:
  // Takes `claim` for user `id` unless another user holds it; false then.
  bool take_claim(const std::string& claim, const std::string& id);
  // Drops the user's claims that are none of its current names' keys.
  void drop_stale_claims(const std::string& id);

  pg_sync db_;
  session_limits limits_;
};

// The bounds of each use: the loop's reads answer within `loop_answer` or fail (and then fail
// at once for a backoff); workers and commands wait seconds. Worker and command connections
// bring the schema up to date first (pg_migrate).
struct pg_account_bounds {
  std::chrono::milliseconds loop_connect{500};
  std::chrono::milliseconds loop_answer{200};
  std::chrono::milliseconds worker_connect{2000};
  std::chrono::milliseconds worker_answer{5000};
  // The loop's connection carries the LISTEN for ended sessions: idle this long, it is probed
  // (pg_sync_options::probe_idle), so a silently dead one is replaced within about this bound.
  std::chrono::milliseconds listen_probe{5000};
};
account_db_opener pg_accounts(std::string conninfo, session_limits limits,
                              pg_account_bounds bounds = {});

}  // namespace duplex::chat
