#include "pg_directory.hpp"

namespace duplex::chat {
namespace {

std::string str(std::string_view s) {
  return std::string(s);
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

room_record room_at(const pg_rows& r, int row) {
  return {r.text(row, 0), r.text(row, 1), r.text(row, 2), r.integer(row, 3) != 0,
          r.integer(row, 4)};
}

member_record member_at(const pg_rows& r, int row) {
  return {r.text(row, 0), r.text(row, 1),
          parse_room_role(r.text(row, 2)).value_or(room_role::member), r.integer(row, 3)};
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

pg_sync_options options(std::string conninfo, std::chrono::milliseconds connect,
                        std::chrono::milliseconds answer) {
  pg_sync_options o;
  o.conninfo = std::move(conninfo);
  o.connect_timeout = connect;
  o.answer_timeout = answer;
  o.listen = {"duplex_rooms"};
  o.ignore_own = true;
  return o;
}

constexpr const char* room_columns =
    "SELECT name, topic, owner, invite_only::int, created_ms FROM room_info";

// `expr` with ASCII letters folded, nothing else: as contains_folded does for the other
// backends, whatever the database's locale.
std::string folded(const char* expr) {
  return std::string("translate(") + expr +
         ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
}

// Whether the column holds the query ($1) anywhere.
std::string holds_query(const char* column) {
  return "strpos(" + folded(column) + ", " + folded("$1") + ") > 0";
}

}  // namespace

pg_directory::pg_directory(std::string conninfo, std::chrono::milliseconds connect,
                           std::chrono::milliseconds answer)
    : db_(options(std::move(conninfo), connect, answer)) {}

std::optional<room_record> pg_directory::find(std::string_view room) {
  const auto r = db_.exec(std::string(room_columns) + " WHERE name = $1", {str(room)});
  if (r.rows() == 0) return std::nullopt;
  return room_at(r, 0);
}

bool pg_directory::create(const room_record& r) {
  // Of two nodes creating the same name at once, the second waits for the first's commit, then
  // inserts nothing.
  return db_.exec(
                "INSERT INTO room_info (name, topic, owner, invite_only, created_ms)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
                {r.name, r.topic, r.owner, r.invite_only ? "true" : "false", num(r.created_ms)})
             .affected() == 1;
}

void pg_directory::update(const room_record& r) {
  db_.exec("UPDATE room_info SET topic = $2, owner = $3, invite_only = $4 WHERE name = $1",
           {r.name, r.topic, r.owner, r.invite_only ? "true" : "false"});
}

void pg_directory::remove_room(std::string_view room) {
  // Members, bans and invitations go with it (ON DELETE CASCADE).
  db_.exec("DELETE FROM room_info WHERE name = $1", {str(room)});
}

std::vector<directory_entry> pg_directory::search(std::string_view query, std::size_t limit) {
  // strpos, not LIKE: the query's % and _ are characters like any other.
  static const std::string sql =
      "SELECT r.name, r.topic, r.owner, r.invite_only::int, r.created_ms,"
      " (SELECT count(*) FROM room_members m WHERE m.room = r.name) FROM room_info r WHERE " +
      holds_query("r.name") + " OR " + holds_query("r.topic") +
      " ORDER BY r.name COLLATE \"C\" LIMIT $2";
  const auto r = db_.exec(sql, {str(query), num(static_cast<std::int64_t>(limit))});
  std::vector<directory_entry> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({room_at(r, i), static_cast<std::size_t>(r.integer(i, 5))});
  return out;
}

std::optional<member_record> pg_directory::member(std::string_view room, std::string_view user) {
  const auto r = db_.exec(
      "SELECT user_key, name, role, muted_until_ms FROM room_members"
      " WHERE room = $1 AND user_key = $2",
      {str(room), str(user)});
  if (r.rows() == 0) return std::nullopt;
  return member_at(r, 0);
}

void pg_directory::put_member(std::string_view room, const member_record& m) {
  db_.exec(
      "INSERT INTO room_members (room, user_key, name, role, muted_until_ms)"
      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room, user_key) DO UPDATE SET"
      " name = EXCLUDED.name, role = EXCLUDED.role, muted_until_ms = EXCLUDED.muted_until_ms",
      {str(room), m.user, m.name, str(room_role_name(m.role)), num(m.muted_until_ms)});
}

void pg_directory::remove_member(std::string_view room, std::string_view user) {
  db_.exec("DELETE FROM room_members WHERE room = $1 AND user_key = $2", {str(room), str(user)});
}

std::vector<member_record> pg_directory::members(std::string_view room, std::size_t limit) {
  const auto r = db_.exec(
      "SELECT user_key, name, role, muted_until_ms FROM room_members WHERE room = $1"
      " ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END,"
      " name COLLATE \"C\" LIMIT $2",
      {str(room), num(static_cast<std::int64_t>(limit))});
  std::vector<member_record> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(member_at(r, i));
  return out;
}

std::size_t pg_directory::member_count(std::string_view room) {
  return static_cast<std::size_t>(
      db_.exec("SELECT count(*) FROM room_members WHERE room = $1", {str(room)}).integer(0, 0));
}

std::vector<std::string> pg_directory::rooms_of(std::string_view user) {
  const auto r = db_.exec(
      "SELECT room FROM room_members WHERE user_key = $1 ORDER BY room COLLATE \"C\"", {str(user)});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(r.text(i, 0));
  return out;
}

std::size_t pg_directory::owned_by(std::string_view user) {
  return static_cast<std::size_t>(
      db_.exec("SELECT count(*) FROM room_info WHERE owner = $1", {str(user)}).integer(0, 0));
}

bool pg_directory::exists(const char* sql, std::string_view room, std::string_view user) {
  return db_.exec(sql, {str(room), str(user)}).rows() > 0;
}

bool pg_directory::banned(std::string_view room, std::string_view user) {
  return exists("SELECT 1 FROM room_bans WHERE room = $1 AND user_key = $2", room, user);
}

void pg_directory::set_banned(std::string_view room, std::string_view user, bool banned) {
  if (banned)
    db_.exec(
        "INSERT INTO room_bans (room, user_key, created_ms) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        {str(room), str(user), num(now_ms())});
  else
    db_.exec("DELETE FROM room_bans WHERE room = $1 AND user_key = $2", {str(room), str(user)});
}

bool pg_directory::invited(std::string_view room, std::string_view user) {
  return exists("SELECT 1 FROM room_invites WHERE room = $1 AND user_key = $2", room, user);
}

void pg_directory::set_invited(std::string_view room, std::string_view user, bool invited) {
  if (invited)
    db_.exec(
        "INSERT INTO room_invites (room, user_key, created_ms) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        {str(room), str(user), num(now_ms())});
  else
    db_.exec("DELETE FROM room_invites WHERE room = $1 AND user_key = $2", {str(room), str(user)});
}

pg_directory::changes_t pg_directory::changes() {
  auto n = db_.notices();
  changes_t out;
  out.complete = n.complete;
  for (auto& p : n.payloads) {
    const auto space = p.find(' ');
    if (space == std::string::npos)
      out.list.push_back({std::move(p), {}});
    else
      out.list.push_back({p.substr(0, space), p.substr(space + 1)});
  }
  return out;
}

}  // namespace duplex::chat
