// pg_account_db's sessions, the loop's reads, and the opener of each use (pg_accounts.hpp).
#include <sodium.h>

#include <charconv>

#include "pg_accounts.hpp"
#include "pg_schema.hpp"

namespace duplex::chat {
namespace {

std::string hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

std::int64_t ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

constexpr const char* session_columns =
    "SELECT s.id, s.user_id, s.created_ms, s.last_seen_ms, s.user_agent, s.address";

session_info read_session(const pg_rows& r, int row) {
  return {r.integer(row, 0), r.integer(row, 1), r.integer(row, 2),
          r.integer(row, 3), r.text(row, 4),    r.text(row, 5)};
}

}  // namespace

std::optional<new_session> pg_account_db::create_session(std::int64_t user_id,
                                                         std::string_view user_agent,
                                                         std::string_view address,
                                                         std::int64_t now_ms,
                                                         std::string_view password_hash) {
  auto made = make_token();
  new_session out{
      std::move(made.token),
      {0, user_id, now_ms, now_ms, clean_user_agent(user_agent, limits_.max_user_agent_bytes),
       std::string(address.substr(0, 64))}};
  const std::string uid = num(user_id);
  pg_transaction tx(db_);
  // FOR SHARE: a password change or a ban on another node waits for this, or this for it.
  const auto who =
      db_.exec("SELECT password_hash, banned::int FROM users WHERE id = $1 FOR SHARE", {uid});
  if (who.rows() == 0 || who.integer(0, 1) != 0) return std::nullopt;
  if (!password_hash.empty() && who.text(0, 0) != password_hash) return std::nullopt;
  out.info.id = db_.exec(
                       "INSERT INTO sessions (token_hash, user_id, created_ms, last_seen_ms,"
                       " user_agent, address) VALUES (decode($1, 'hex'), $2, $3, $3, $4, $5)"
                       " RETURNING id",
                       {hex(made.digest), uid, num(now_ms), out.info.user_agent, out.info.address})
                    .integer(0, 0);
  db_.exec(
      "DELETE FROM sessions WHERE user_id = $1 AND (created_ms <= $2 OR last_seen_ms <= $3 OR"
      " id NOT IN (SELECT id FROM sessions WHERE user_id = $1"
      " ORDER BY last_seen_ms DESC, id DESC LIMIT $4))",
      {uid, num(now_ms - ms(limits_.lifetime)), num(now_ms - ms(limits_.idle)),
       num(static_cast<std::int64_t>(limits_.max_per_user))});
  tx.commit();
  return out;
}

std::optional<signed_in> pg_account_db::find_session(std::string_view token, std::int64_t now_ms) {
  const auto d = token_digest(token);
  if (!d) return std::nullopt;
  const std::string wanted = hex(*d);
  // One round trip: the session and its user.
  const auto r = db_.exec(std::string(session_columns) +
                              ", encode(s.token_hash, 'hex'), u.id, u.name, u.name_key, u.role,"
                              " u.banned::int, u.created_ms, COALESCE(u.display_name, '')"
                              " FROM sessions s JOIN users u ON u.id = s.user_id"
                              " WHERE s.token_hash = decode($1, 'hex')",
                          {wanted});
  if (r.rows() == 0 || !same_digest(r.text(0, 6), wanted)) return std::nullopt;
  signed_in out{read_session(r, 0), {}};
  if (session_expired(limits_, out.session, now_ms)) return std::nullopt;
  out.who.id = r.integer(0, 7);
  out.who.name = r.text(0, 8);
  out.who.key = r.text(0, 9);
  out.who.role = parse_role(r.text(0, 10)).value_or(role::user);
  out.who.banned = r.integer(0, 11) != 0;
  out.who.created_ms = r.integer(0, 12);
  out.who.display = r.text(0, 13);
  if (out.who.banned) return std::nullopt;
  return out;
}

void pg_account_db::touch(std::int64_t session_id, std::int64_t now_ms) {
  db_.exec("UPDATE sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE id = $1",
           {num(session_id), num(now_ms)});
}

std::vector<session_info> pg_account_db::list_sessions(std::int64_t user_id, std::int64_t now_ms) {
  const auto r = db_.exec(std::string(session_columns) +
                              " FROM sessions s WHERE s.user_id = $1 ORDER BY s.last_seen_ms DESC",
                          {num(user_id)});
  std::vector<session_info> out;
  for (int i = 0; i < r.rows(); ++i) {
    auto s = read_session(r, i);
    if (!session_expired(limits_, s, now_ms)) out.push_back(std::move(s));
  }
  return out;
}

bool pg_account_db::revoke(std::int64_t user_id, std::int64_t session_id) {
  return db_.exec("DELETE FROM sessions WHERE id = $1 AND user_id = $2",
                  {num(session_id), num(user_id)})
             .affected() > 0;
}

std::size_t pg_account_db::revoke_all(std::int64_t user_id, std::int64_t keep) {
  return static_cast<std::size_t>(
      db_.exec("DELETE FROM sessions WHERE user_id = $1 AND id <> $2", {num(user_id), num(keep)})
          .affected());
}

std::size_t pg_account_db::purge_expired(std::int64_t now_ms) {
  return static_cast<std::size_t>(
      db_.exec("DELETE FROM sessions WHERE created_ms <= $1 OR last_seen_ms <= $2",
               {num(now_ms - ms(limits_.lifetime)), num(now_ms - ms(limits_.idle))})
          .affected());
}

bool pg_account_db::session_exists(std::int64_t session_id) {
  return db_.exec("SELECT 1 FROM sessions WHERE id = $1", {num(session_id)}).rows() > 0;
}

account_db::session_changes pg_account_db::changes_elsewhere() {
  pg_sync::notices_t n;
  try {
    n = db_.notices();
  } catch (const pg_error&) {
    return {};
  }
  session_changes out{n.any, std::nullopt};
  if (!n.complete) return out;
  std::vector<std::int64_t> ids;
  ids.reserve(n.payloads.size());
  for (const auto& p : n.payloads) {
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), id);
    if (ec != std::errc() || end != p.data() + p.size()) return out;  // not ours: check all
    ids.push_back(id);
  }
  out.ended = std::move(ids);
  return out;
}

bool pg_account_db::changed_elsewhere() {
  try {
    return db_.notified();
  } catch (const pg_error&) {
    return false;
  }
}

bool pg_account_db::name_registered(std::string_view key, std::string_view skeleton) {
  return db_.exec("SELECT 1 FROM name_claims WHERE claim IN ('k' || $1, 's' || $2) LIMIT 1",
                  {std::string(key), std::string(skeleton)})
             .rows() > 0;
}

std::optional<std::string> pg_account_db::shown_name(std::string_view key) {
  const auto r =
      db_.exec("SELECT COALESCE(display_name, name) FROM users WHERE NOT banned AND name_key = $1",
               {std::string(key)});
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::optional<std::string> pg_account_db::key_of_shown(std::string_view shown_key) {
  const auto r = db_.exec(
      "SELECT name_key FROM users WHERE NOT banned AND"
      " (display_key = $1 OR (display_key IS NULL AND name_key = $1))",
      {std::string(shown_key)});
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

account_db_opener pg_accounts(std::string conninfo, session_limits limits,
                              pg_account_bounds bounds) {
  return [conninfo = std::move(conninfo), limits, bounds](account_db_use use) {
    pg_sync_options o;
    o.conninfo = conninfo;
    if (use == account_db_use::loop) {
      o.connect_timeout = bounds.loop_connect;
      o.answer_timeout = bounds.loop_answer;
      o.listen = {"duplex_sessions"};
      o.probe_idle = bounds.listen_probe;
    } else {
      pg_migrate(conninfo);
      o.connect_timeout = bounds.worker_connect;
      o.answer_timeout = bounds.worker_answer;
    }
    return std::make_unique<pg_account_db>(std::move(o), limits);
  };
}

}  // namespace duplex::chat
