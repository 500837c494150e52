#include "sqlite_directory.hpp"

#include "schema.hpp"

namespace duplex::chat {
namespace {

room_record room_of(const sql::statement& st) {
  return {st.text(0), st.text(1), st.text(2), st.integer(3) != 0, st.integer(4)};
}

member_record member_of(const sql::statement& st) {
  return {st.text(0), st.text(1), parse_room_role(st.text(2)).value_or(room_role::member),
          st.integer(3)};
}

// A LIKE pattern that matches `query` literally anywhere (escape character '\').
std::string like_pattern(std::string_view query) {
  std::string out = "%";
  for (char c : query) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

sqlite_directory::sqlite_directory(const std::string& path, std::chrono::milliseconds busy_timeout)
    : db_(path, busy_timeout) {
  configure(db_);
  migrate(db_);
}

std::optional<room_record> sqlite_directory::find(std::string_view room) {
  sql::statement st(db_,
                    "SELECT name, topic, owner, invite_only, created_ms FROM room_info"
                    " WHERE name = ?");
  st.bind(1, room);
  if (!st.row()) return std::nullopt;
  return room_of(st);
}

bool sqlite_directory::create(const room_record& r) {
  sql::statement st(db_,
                    "INSERT OR IGNORE INTO room_info (name, topic, owner, invite_only, created_ms)"
                    " VALUES (?, ?, ?, ?, ?)");
  st.bind(1, r.name).bind(2, r.topic).bind(3, r.owner);
  st.bind(4, std::int64_t{r.invite_only}).bind(5, r.created_ms);
  st.run();
  return db_.changes() == 1;
}

void sqlite_directory::update(const room_record& r) {
  sql::statement st(db_,
                    "UPDATE room_info SET topic = ?, owner = ?, invite_only = ? WHERE name = ?");
  st.bind(1, r.topic).bind(2, r.owner).bind(3, std::int64_t{r.invite_only}).bind(4, r.name);
  st.run();
}

void sqlite_directory::remove_room(std::string_view room) {
  sql::transaction tx(db_);
  for (const char* q :
       {"DELETE FROM room_members WHERE room = ?", "DELETE FROM room_bans WHERE room = ?",
        "DELETE FROM room_invites WHERE room = ?", "DELETE FROM room_info WHERE name = ?"}) {
    sql::statement st(db_, q);
    st.bind(1, room);
    st.run();
  }
  tx.commit();
}

std::vector<directory_entry> sqlite_directory::search(std::string_view query, std::size_t limit) {
  // LIKE folds ASCII case only, as contains_folded does for the memory backend.
  sql::statement st(db_,
                    "SELECT r.name, r.topic, r.owner, r.invite_only, r.created_ms,"
                    " (SELECT COUNT(*) FROM room_members m WHERE m.room = r.name)"
                    " FROM room_info r WHERE r.name LIKE ?1 ESCAPE '\\'"
                    " OR r.topic LIKE ?1 ESCAPE '\\' ORDER BY r.name LIMIT ?2");
  st.bind(1, like_pattern(query)).bind(2, static_cast<std::int64_t>(limit));
  std::vector<directory_entry> out;
  while (st.row())
    out.push_back({room_of(st), static_cast<std::size_t>(st.integer(5))});
  return out;
}

std::optional<member_record> sqlite_directory::member(std::string_view room,
                                                      std::string_view user) {
  sql::statement st(db_,
                    "SELECT user_key, name, role, muted_until_ms FROM room_members"
                    " WHERE room = ? AND user_key = ?");
  st.bind(1, room).bind(2, user);
  if (!st.row()) return std::nullopt;
  return member_of(st);
}

void sqlite_directory::put_member(std::string_view room, const member_record& m) {
  sql::statement st(db_,
                    "INSERT OR REPLACE INTO room_members (room, user_key, name, role,"
                    " muted_until_ms) VALUES (?, ?, ?, ?, ?)");
  st.bind(1, room).bind(2, m.user).bind(3, m.name).bind(4, room_role_name(m.role));
  st.bind(5, m.muted_until_ms);
  st.run();
}

void sqlite_directory::remove_member(std::string_view room, std::string_view user) {
  sql::statement st(db_, "DELETE FROM room_members WHERE room = ? AND user_key = ?");
  st.bind(1, room).bind(2, user);
  st.run();
}

std::vector<member_record> sqlite_directory::members(std::string_view room, std::size_t limit) {
  sql::statement st(db_,
                    "SELECT user_key, name, role, muted_until_ms FROM room_members WHERE room = ?"
                    " ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END,"
                    " name LIMIT ?");
  st.bind(1, room).bind(2, static_cast<std::int64_t>(limit));
  std::vector<member_record> out;
  while (st.row())
    out.push_back(member_of(st));
  return out;
}

std::size_t sqlite_directory::member_count(std::string_view room) {
  sql::statement st(db_, "SELECT COUNT(*) FROM room_members WHERE room = ?");
  st.bind(1, room);
  return st.row() ? static_cast<std::size_t>(st.integer(0)) : 0;
}

std::vector<std::string> sqlite_directory::rooms_of(std::string_view user) {
  sql::statement st(db_, "SELECT room FROM room_members WHERE user_key = ? ORDER BY room");
  st.bind(1, user);
  std::vector<std::string> out;
  while (st.row())
    out.push_back(st.text(0));
  return out;
}

std::size_t sqlite_directory::owned_by(std::string_view user) {
  sql::statement st(db_, "SELECT COUNT(*) FROM room_info WHERE owner = ?");
  st.bind(1, user);
  return st.row() ? static_cast<std::size_t>(st.integer(0)) : 0;
}

bool sqlite_directory::exists(const char* query, std::string_view room, std::string_view user) {
  sql::statement st(db_, query);
  st.bind(1, room).bind(2, user);
  return st.row();
}

bool sqlite_directory::banned(std::string_view room, std::string_view user) {
  return exists("SELECT 1 FROM room_bans WHERE room = ? AND user_key = ?", room, user);
}

void sqlite_directory::set_banned(std::string_view room, std::string_view user, bool banned) {
  sql::statement st(db_, banned ? "INSERT OR IGNORE INTO room_bans (room, user_key, created_ms)"
                                  " VALUES (?, ?, ?)"
                                : "DELETE FROM room_bans WHERE room = ? AND user_key = ?");
  st.bind(1, room).bind(2, user);
  if (banned) st.bind(3, now_ms());
  st.run();
}

bool sqlite_directory::invited(std::string_view room, std::string_view user) {
  return exists("SELECT 1 FROM room_invites WHERE room = ? AND user_key = ?", room, user);
}

void sqlite_directory::set_invited(std::string_view room, std::string_view user, bool invited) {
  sql::statement st(db_, invited ? "INSERT OR IGNORE INTO room_invites (room, user_key, created_ms)"
                                   " VALUES (?, ?, ?)"
                                 : "DELETE FROM room_invites WHERE room = ? AND user_key = ?");
  st.bind(1, room).bind(2, user);
  if (invited) st.bind(3, now_ms());
  st.run();
}

}  // namespace duplex::chat
