#include "sqlite_account_db.hpp"

#include "schema.hpp"

namespace duplex::chat {

sqlite_account_db::sqlite_account_db(const std::string& path,
                                     std::chrono::milliseconds busy_timeout, session_limits limits,
                                     bool upgrade)
    : db_(path, busy_timeout), limits_(limits) {
  if (upgrade) {
    configure(db_);
    migrate(db_);
  }
  db_.exec("PRAGMA foreign_keys=ON;");
}

create_result sqlite_account_db::create_user(const name_claim& name, std::string_view password_hash,
                                             role r, std::int64_t now_ms, std::int64_t* id) {
  return account_store(db_).create(name, password_hash, r, now_ms, id);
}

create_result sqlite_account_db::check_name(const name_claim& name) {
  return account_store(db_).check_name(name);
}

create_result sqlite_account_db::set_display(std::int64_t id,
                                             const std::optional<name_claim>& display) {
  return account_store(db_).set_display(id, display);
}

std::optional<user> sqlite_account_db::by_id(std::int64_t id) {
  return account_store(db_).by_id(id);
}

std::optional<user> sqlite_account_db::by_key(std::string_view key) {
  return account_store(db_).by_key(key);
}

std::optional<std::string> sqlite_account_db::password_hash(std::int64_t id) {
  return account_store(db_).password_hash(id);
}

bool sqlite_account_db::replace_password_hash(std::int64_t id, std::string_view old,
                                              std::string_view hash) {
  return account_store(db_).replace_password_hash(id, old, hash);
}

std::optional<std::size_t> sqlite_account_db::set_password(std::int64_t id, std::string_view hash,
                                                           std::int64_t now_ms, std::int64_t keep) {
  sql::transaction tx(db_);
  if (!account_store(db_).set_password_hash(id, hash, now_ms)) return std::nullopt;
  const auto ended = session_store(db_, limits_).revoke_all(id, keep);
  tx.commit();
  return ended;
}

bool sqlite_account_db::set_role(std::int64_t id, role r) {
  return account_store(db_).set_role(id, r);
}

std::optional<std::size_t> sqlite_account_db::set_banned(std::int64_t id, bool banned) {
  sql::transaction tx(db_);
  if (!account_store(db_).set_banned(id, banned)) return std::nullopt;
  const std::size_t ended = banned ? session_store(db_, limits_).revoke_all(id, 0) : 0;
  tx.commit();
  return ended;
}

std::vector<user_summary> sqlite_account_db::list_users() {
  sql::statement st(db_,
                    "SELECT u.id, u.name, u.role, u.banned,"
                    " (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id)"
                    " FROM users u ORDER BY u.id");
  std::vector<user_summary> out;
  while (st.row())
    out.push_back({st.integer(0), st.text(1), parse_role(st.text(2)).value_or(role::user),
                   st.integer(3) != 0, st.integer(4)});
  return out;
}

std::vector<std::string> sqlite_account_db::refresh_skeletons(
    const std::function<std::string(std::string_view)>& skeleton_of) {
  return account_store(db_).refresh_skeletons(skeleton_of);
}

std::optional<new_session> sqlite_account_db::create_session(std::int64_t user_id,
                                                             std::string_view user_agent,
                                                             std::string_view address,
                                                             std::int64_t now_ms,
                                                             std::string_view password_hash) {
  return session_store(db_, limits_).create(user_id, user_agent, address, now_ms, password_hash);
}

std::optional<signed_in> sqlite_account_db::find_session(std::string_view token,
                                                         std::int64_t now_ms) {
  return session_store(db_, limits_).find(token, now_ms);
}

void sqlite_account_db::touch(std::int64_t session_id, std::int64_t now_ms) {
  session_store(db_, limits_).touch(session_id, now_ms);
}

std::vector<session_info> sqlite_account_db::list_sessions(std::int64_t user_id,
                                                           std::int64_t now_ms) {
  return session_store(db_, limits_).list(user_id, now_ms);
}

bool sqlite_account_db::revoke(std::int64_t user_id, std::int64_t session_id) {
  return session_store(db_, limits_).revoke(user_id, session_id);
}

std::size_t sqlite_account_db::revoke_all(std::int64_t user_id, std::int64_t keep) {
  return session_store(db_, limits_).revoke_all(user_id, keep);
}

std::size_t sqlite_account_db::purge_expired(std::int64_t now_ms) {
  return session_store(db_, limits_).purge_expired(now_ms);
}

bool sqlite_account_db::session_exists(std::int64_t session_id) {
  sql::statement st(db_, "SELECT 1 FROM sessions WHERE id = ?");
  st.bind(1, session_id);
  return st.row();
}

bool sqlite_account_db::changed_elsewhere() {
  sql::statement st(db_, "PRAGMA data_version");
  const std::int64_t now = st.row() ? st.integer(0) : -1;
  const bool changed = now != data_version_ || now < 0;
  data_version_ = now;
  return changed;
}

bool sqlite_account_db::name_registered(std::string_view key, std::string_view skeleton) {
  sql::statement st(db_,
                    "SELECT 1 FROM users WHERE name_key = ?1 OR name_skeleton = ?2"
                    " OR display_key = ?1 OR display_skeleton = ?2");
  st.bind(1, key).bind(2, skeleton);
  return st.row();
}

std::optional<std::string> sqlite_account_db::shown_name(std::string_view key) {
  sql::statement st(db_,
                    "SELECT COALESCE(display_name, name) FROM users WHERE banned = 0 AND"
                    " name_key = ?1");
  st.bind(1, key);
  if (st.row()) return st.text(0);
  return std::nullopt;
}

std::optional<std::string> sqlite_account_db::key_of_shown(std::string_view shown_key) {
  sql::statement st(db_,
                    "SELECT name_key FROM users WHERE banned = 0 AND"
                    " (display_key = ?1 OR (display_key IS NULL AND name_key = ?1))");
  st.bind(1, shown_key);
  if (st.row()) return st.text(0);
  return std::nullopt;
}

account_db_opener sqlite_accounts(std::string path, session_limits limits,
                                  std::chrono::milliseconds loop_busy) {
  return [path = std::move(path), limits, loop_busy](account_db_use use) {
    const bool loop = use == account_db_use::loop;
    return std::make_unique<sqlite_account_db>(
        path, loop ? loop_busy : std::chrono::milliseconds(5000), limits, !loop);
  };
}

}  // namespace duplex::chat
