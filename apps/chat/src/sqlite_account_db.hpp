// The accounts in the chat's own SQLite file (the single-node default): account_db over
// account_store and session_store, on a connection of its own.
#pragma once

#include <chrono>
#include <string>

#include "account_db.hpp"
#include "sql.hpp"

namespace duplex::chat {

class sqlite_account_db final : public account_db {
 public:
  // Opens the file (creating it) and, when `upgrade`, brings its schema up to date.
  sqlite_account_db(const std::string& path, std::chrono::milliseconds busy_timeout,
                    session_limits limits, bool upgrade);

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
  // PRAGMA data_version: any commit by another connection to the file counts.
  bool changed_elsewhere() override;
  bool name_registered(std::string_view key, std::string_view skeleton) override;
  std::optional<std::string> shown_name(std::string_view key) override;
  std::optional<std::string> key_of_shown(std::string_view shown_key) override;

 private:
  sql::connection db_;
  session_limits limits_;
  std::int64_t data_version_ = -1;
};

// Opens the SQLite file for each use: the loop's connection waits `loop_busy` at most for the
// file's lock; the first worker connection upgrades the schema.
account_db_opener sqlite_accounts(std::string path, session_limits limits,
                                  std::chrono::milliseconds loop_busy);

}  // namespace duplex::chat
