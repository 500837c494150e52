#include "accounts.hpp"

namespace duplex::chat {
namespace {

constexpr const char* user_columns =
    "SELECT id, name, name_key, role, banned, created_ms, COALESCE(display_name, '') FROM users";

std::optional<user> read_user(sql::statement& st) {
  if (!st.row()) return std::nullopt;
  user u;
  u.id = st.integer(0);
  u.name = st.text(1);
  u.key = st.text(2);
  u.role = parse_role(st.text(3)).value_or(role::user);
  u.banned = st.integer(4) != 0;
  u.created_ms = st.integer(5);
  u.display = st.text(6);
  return u;
}

}  // namespace

std::string_view to_string(role r) noexcept {
  return r == role::admin ? "admin" : "user";
}

std::optional<role> parse_role(std::string_view s) noexcept {
  if (s == "user") return role::user;
  if (s == "admin") return role::admin;
  return std::nullopt;
}

create_result account_store::create(const name_claim& name, std::string_view password_hash, role r,
                                    std::int64_t now_ms, std::int64_t* id) {
  sql::statement st(db_,
                    "INSERT INTO users (name, name_key, name_skeleton, password_hash, role,"
                    " created_ms, password_changed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, name.display).bind(2, name.key).bind(3, name.skeleton).bind(4, password_hash);
  st.bind(5, to_string(r)).bind(6, now_ms).bind(7, now_ms);
  try {
    st.run();
  } catch (const sql::error& e) {
    if (!e.constraint_violation()) throw;
    // Which constraint refused it (a UNIQUE index or a trigger): tell them apart by asking.
    const auto why = check_name(name);
    return why == create_result::created ? create_result::name_look_alike : why;
  }
  if (id) *id = db_.last_insert_id();
  return create_result::created;
}

create_result account_store::check_name(const name_claim& name) {
  sql::statement same(db_, "SELECT 1 FROM users WHERE name_key = ? OR display_key = ?");
  same.bind(1, name.key).bind(2, name.key);
  if (same.row()) return create_result::name_taken;
  sql::statement alike(db_, "SELECT 1 FROM users WHERE name_skeleton = ? OR display_skeleton = ?");
  alike.bind(1, name.skeleton).bind(2, name.skeleton);
  return alike.row() ? create_result::name_look_alike : create_result::created;
}

create_result account_store::set_display(std::int64_t id, const std::optional<name_claim>& d) {
  sql::statement st(db_,
                    "UPDATE users SET display_name = ?, display_key = ?, display_skeleton = ?"
                    " WHERE id = ?");
  if (d) st.bind(1, d->display).bind(2, d->key).bind(3, d->skeleton);
  st.bind(4, id);
  try {
    st.run();
  } catch (const sql::error& e) {
    if (!e.constraint_violation()) throw;
    sql::statement same(db_,
                        "SELECT 1 FROM users WHERE id != ? AND (name_key = ? OR display_key = ?)");
    same.bind(1, id).bind(2, d->key).bind(3, d->key);
    return same.row() ? create_result::name_taken : create_result::name_look_alike;
  }
  return create_result::created;
}

std::optional<user> account_store::by_id(std::int64_t id) {
  sql::statement st(db_, (std::string(user_columns) + " WHERE id = ?").c_str());
  st.bind(1, id);
  return read_user(st);
}

std::optional<user> account_store::by_key(std::string_view key) {
  sql::statement st(db_, (std::string(user_columns) + " WHERE name_key = ?").c_str());
  st.bind(1, key);
  return read_user(st);
}

std::optional<std::string> account_store::password_hash(std::int64_t id) {
  sql::statement st(db_, "SELECT password_hash FROM users WHERE id = ?");
  st.bind(1, id);
  if (!st.row()) return std::nullopt;
  return st.text(0);
}

bool account_store::set_password_hash(std::int64_t id, std::string_view hash, std::int64_t now_ms) {
  sql::statement st(db_,
                    "UPDATE users SET password_hash = ?, password_changed_ms = ? WHERE id = ?");
  st.bind(1, hash).bind(2, now_ms).bind(3, id);
  st.run();
  return db_.changes() > 0;
}

bool account_store::replace_password_hash(std::int64_t id, std::string_view old,
                                          std::string_view hash) {
  sql::statement st(db_, "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?");
  st.bind(1, hash).bind(2, id).bind(3, old);
  st.run();
  return db_.changes() > 0;
}

bool account_store::set_role(std::int64_t id, role r) {
  sql::statement st(db_, "UPDATE users SET role = ? WHERE id = ?");
  st.bind(1, to_string(r)).bind(2, id);
  st.run();
  return db_.changes() > 0;
}

bool account_store::set_banned(std::int64_t id, bool banned) {
  sql::statement st(db_, "UPDATE users SET banned = ? WHERE id = ?");
  st.bind(1, std::int64_t{banned ? 1 : 0}).bind(2, id);
  st.run();
  return db_.changes() > 0;
}

namespace {

// Sets one look-alike column of one user; false when the file refuses it (another user's).
bool set_skeleton(sql::connection& db, const char* column, std::int64_t id,
                  const std::string& skeleton) {
  const std::string text = std::string("UPDATE users SET ") + column + " = ? WHERE id = ?";
  sql::statement st(db, text.c_str());
  st.bind(1, skeleton).bind(2, id);
  try {
    st.run();
  } catch (const sql::error& e) {
    if (!e.constraint_violation()) throw;
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> account_store::refresh_skeletons(
    const std::function<std::string(std::string_view)>& skeleton_of) {
  struct row {
    std::int64_t id;
    std::string name, name_skeleton, display, display_skeleton;
  };
  std::vector<row> rows;
  {
    sql::statement st(db_,
                      "SELECT id, name, name_skeleton, coalesce(display_name, ''),"
                      " coalesce(display_skeleton, '') FROM users ORDER BY id");
    while (st.row())
      rows.push_back({st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4)});
  }
  std::vector<std::string> kept;
  sql::transaction tx(db_);
  for (const row& r : rows) {
    const std::string name = skeleton_of(r.name);
    if (!name.empty() && name != r.name_skeleton && !set_skeleton(db_, "name_skeleton", r.id, name))
      kept.push_back(r.name);
    if (r.display.empty()) continue;
    const std::string display = skeleton_of(r.display);
    if (!display.empty() && display != r.display_skeleton &&
        !set_skeleton(db_, "display_skeleton", r.id, display))
      kept.push_back(r.display);
  }
  tx.commit();
  return kept;
}

}  // namespace duplex::chat
