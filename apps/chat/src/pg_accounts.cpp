// Users and their names in PostgreSQL (pg_accounts.hpp); sessions in pg_account_sessions.cpp.
#include "pg_accounts.hpp"

namespace duplex::chat {
namespace {

// A name's key and its look-alike key are claims of two kinds in one table: 'k' and 's' first.
std::string key_claim(std::string_view key) {
  return "k" + std::string(key);
}
std::string look_claim(std::string_view skeleton) {
  return "s" + std::string(skeleton);
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

constexpr const char* user_columns =
    "SELECT id, name, name_key, role, banned::int, created_ms, COALESCE(display_name, '')"
    " FROM users";

user read_user(const pg_rows& r, int row, int col) {
  user u;
  u.id = r.integer(row, col);
  u.name = r.text(row, col + 1);
  u.key = r.text(row, col + 2);
  u.role = parse_role(r.text(row, col + 3)).value_or(role::user);
  u.banned = r.integer(row, col + 4) != 0;
  u.created_ms = r.integer(row, col + 5);
  u.display = r.text(row, col + 6);
  return u;
}

std::optional<user> first_user(const pg_rows& r) {
  if (r.rows() == 0) return std::nullopt;
  return read_user(r, 0, 0);
}

}  // namespace

pg_account_db::pg_account_db(pg_sync_options opts, session_limits limits)
    : db_(std::move(opts)), limits_(limits) {}

bool pg_account_db::take_claim(const std::string& claim, const std::string& id) {
  // Waits for a concurrent transaction holding the same claim; then only its owner gets a row.
  return db_.exec(
                "INSERT INTO name_claims (claim, user_id) VALUES ($1, $2)"
                " ON CONFLICT (claim) DO UPDATE SET user_id = EXCLUDED.user_id"
                " WHERE name_claims.user_id = EXCLUDED.user_id RETURNING 1",
                {claim, id})
             .rows() == 1;
}

void pg_account_db::drop_stale_claims(const std::string& id) {
  db_.exec(
      "DELETE FROM name_claims c USING users u WHERE c.user_id = $1 AND u.id = $1 AND"
      " c.claim <> ALL (ARRAY['k' || u.name_key, 's' || u.name_skeleton,"
      " 'k' || COALESCE(u.display_key, ''), 's' || COALESCE(u.display_skeleton, '')])",
      {id});
}

create_result pg_account_db::create_user(const name_claim& name, std::string_view password_hash,
                                         role r, std::int64_t now_ms, std::int64_t* id) {
  create_result out = create_result::created;
  try {
    pg_transaction tx(db_);
    const auto made = db_.exec(
        "INSERT INTO users (name, name_key, name_skeleton, password_hash, role, created_ms,"
        " password_changed_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        {name.display, name.key, name.skeleton, std::string(password_hash),
         std::string(to_string(r)), num(now_ms)});
    const std::string uid = made.text(0, 0);
    if (!take_claim(key_claim(name.key), uid)) return create_result::name_taken;
    if (!take_claim(look_claim(name.skeleton), uid)) return create_result::name_look_alike;
    tx.commit();
    if (id) *id = made.integer(0, 0);
  } catch (const pg_error& e) {
    if (!e.unique_violation()) throw;
    out = check_name(name);  // which one: ask, after the rollback
    if (out == create_result::created) out = create_result::name_taken;
  }
  return out;
}

create_result pg_account_db::check_name(const name_claim& name) {
  const auto r = db_.exec("SELECT left(claim, 1) FROM name_claims WHERE claim IN ($1, $2)",
                          {key_claim(name.key), look_claim(name.skeleton)});
  bool alike = false;
  for (int i = 0; i < r.rows(); ++i) {
    if (r.text(i, 0) == "k") return create_result::name_taken;
    alike = true;
  }
  return alike ? create_result::name_look_alike : create_result::created;
}

create_result pg_account_db::set_display(std::int64_t id, const std::optional<name_claim>& d) {
  const std::string uid = num(id);
  pg_transaction tx(db_);
  if (d) {
    if (!take_claim(key_claim(d->key), uid)) return create_result::name_taken;
    if (!take_claim(look_claim(d->skeleton), uid)) return create_result::name_look_alike;
  }
  db_.exec(
      "UPDATE users SET display_name = NULLIF($2, ''), display_key = NULLIF($3, ''),"
      " display_skeleton = NULLIF($4, '') WHERE id = $1",
      {uid, d ? d->display : "", d ? d->key : "", d ? d->skeleton : ""});
  drop_stale_claims(uid);
  tx.commit();
  return create_result::created;
}

std::optional<user> pg_account_db::by_id(std::int64_t id) {
  return first_user(db_.exec(std::string(user_columns) + " WHERE id = $1", {num(id)}));
}

std::optional<user> pg_account_db::by_key(std::string_view key) {
  return first_user(
      db_.exec(std::string(user_columns) + " WHERE name_key = $1", {std::string(key)}));
}

std::optional<std::string> pg_account_db::password_hash(std::int64_t id) {
  const auto r = db_.exec("SELECT password_hash FROM users WHERE id = $1", {num(id)});
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

bool pg_account_db::replace_password_hash(std::int64_t id, std::string_view old,
                                          std::string_view hash) {
  return db_.exec("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                  {num(id), std::string(old), std::string(hash)})
             .affected() > 0;
}

std::optional<std::size_t> pg_account_db::set_password(std::int64_t id, std::string_view hash,
                                                       std::int64_t now_ms, std::int64_t keep) {
  pg_transaction tx(db_);
  if (db_.exec("UPDATE users SET password_hash = $2, password_changed_ms = $3 WHERE id = $1",
               {num(id), std::string(hash), num(now_ms)})
          .affected() == 0)
    return std::nullopt;
  const auto ended = revoke_all(id, keep);
  tx.commit();
  return ended;
}

bool pg_account_db::set_role(std::int64_t id, role r) {
  return db_.exec("UPDATE users SET role = $2 WHERE id = $1", {num(id), std::string(to_string(r))})
             .affected() > 0;
}

std::optional<std::size_t> pg_account_db::set_banned(std::int64_t id, bool banned) {
  pg_transaction tx(db_);
  if (db_.exec("UPDATE users SET banned = $2 WHERE id = $1", {num(id), banned ? "true" : "false"})
          .affected() == 0)
    return std::nullopt;
  const std::size_t ended = banned ? revoke_all(id, 0) : 0;
  tx.commit();
  return ended;
}

std::vector<user_summary> pg_account_db::list_users() {
  const auto r = db_.exec(
      "SELECT u.id, u.name, u.role, u.banned::int,"
      " (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) FROM users u ORDER BY u.id");
  std::vector<user_summary> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.integer(i, 0), r.text(i, 1), parse_role(r.text(i, 2)).value_or(role::user),
                   r.integer(i, 3) != 0, r.integer(i, 4)});
  return out;
}

std::vector<std::string> pg_account_db::refresh_skeletons(
    const std::function<std::string(std::string_view)>& skeleton_of) {
  const auto r = db_.exec(
      "SELECT id, name, name_skeleton, COALESCE(display_name, ''),"
      " COALESCE(display_skeleton, '') FROM users ORDER BY id");
  std::vector<std::string> kept;
  // One transaction per changed key: a name whose new key is taken keeps its old one alone.
  auto refresh = [&](int row, int name_col, const char* column) {
    const std::string shown = r.text(row, name_col);
    if (shown.empty()) return;
    const std::string fresh = skeleton_of(shown);
    if (fresh.empty() || fresh == r.text(row, name_col + 1)) return;
    const std::string uid = r.text(row, 0);
    pg_transaction tx(db_);
    if (!take_claim(look_claim(fresh), uid)) return kept.push_back(shown);
    db_.exec(std::string("UPDATE users SET ") + column + " = $2 WHERE id = $1", {uid, fresh});
    drop_stale_claims(uid);
    tx.commit();
  };
  for (int i = 0; i < r.rows(); ++i) {
    refresh(i, 1, "name_skeleton");
    refresh(i, 3, "display_skeleton");
  }
  return kept;
}

}  // namespace duplex::chat
