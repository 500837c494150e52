#include "sessions.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace duplex::chat {
namespace {

using digest = std::array<unsigned char, crypto_hash_sha256_BYTES>;
constexpr std::size_t token_bytes = 32;

std::string_view as_view(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// Exactly 64 lower-case hex digits: anything else is not a token, and costs no lookup.
std::optional<digest> hash_of_token(std::string_view token) {
  if (token.size() != token_bytes * 2) return std::nullopt;
  for (char c : token)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  std::array<unsigned char, token_bytes> raw{};
  std::size_t len = 0;
  if (sodium_hex2bin(raw.data(), raw.size(), token.data(), token.size(), nullptr, &len, nullptr) !=
          0 ||
      len != raw.size())
    return std::nullopt;
  digest d{};
  crypto_hash_sha256(d.data(), raw.data(), raw.size());
  sodium_memzero(raw.data(), raw.size());
  return d;
}

std::int64_t ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

constexpr const char* session_columns =
    "SELECT s.id, s.user_id, s.created_ms, s.last_seen_ms, s.user_agent, s.address";

session_info read_session(const sql::statement& st) {
  return {st.integer(0), st.integer(1), st.integer(2), st.integer(3), st.text(4), st.text(5)};
}

}  // namespace

token_and_digest make_token() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialized");
  std::array<unsigned char, token_bytes> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::string token(token_bytes * 2 + 1, '\0');
  sodium_bin2hex(token.data(), token.size(), raw.data(), raw.size());
  token.pop_back();
  sodium_memzero(raw.data(), raw.size());
  auto digest = *token_digest(token);
  return {std::move(token), std::move(digest)};
}

std::optional<std::string> token_digest(std::string_view token) {
  const auto d = hash_of_token(token);
  if (!d) return std::nullopt;
  return std::string(as_view(*d));
}

bool same_digest(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool session_expired(const session_limits& limits, const session_info& s,
                     std::int64_t now_ms) noexcept {
  return now_ms - s.created_ms >= ms(limits.lifetime) || now_ms - s.last_seen_ms >= ms(limits.idle);
}

std::string clean_user_agent(std::string_view raw, std::size_t max_bytes) {
  std::string out(raw.substr(0, max_bytes));
  for (auto& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

std::optional<new_session> session_store::create(std::int64_t user_id, std::string_view user_agent,
                                                 std::string_view address, std::int64_t now_ms,
                                                 std::string_view password_hash) {
  auto made = make_token();
  new_session out{
      std::move(made.token),
      {0, user_id, now_ms, now_ms, clean_user_agent(user_agent, limits_.max_user_agent_bytes),
       std::string(address.substr(0, 64))}};
  sql::transaction tx(db_);
  {
    sql::statement who(db_, "SELECT password_hash, banned FROM users WHERE id = ?");
    who.bind(1, user_id);
    if (!who.row() || who.integer(1) != 0) return std::nullopt;
    if (!password_hash.empty() && who.text(0) != password_hash) return std::nullopt;
  }
  sql::statement ins(db_,
                     "INSERT INTO sessions (token_hash, user_id, created_ms, last_seen_ms,"
                     " user_agent, address) VALUES (?, ?, ?, ?, ?, ?)");
  ins.bind_blob(1, made.digest).bind(2, user_id).bind(3, now_ms).bind(4, now_ms);
  ins.bind(5, out.info.user_agent).bind(6, out.info.address);
  ins.run();
  out.info.id = db_.last_insert_id();
  sql::statement old(db_,
                     "DELETE FROM sessions WHERE user_id = ?1 AND (created_ms <= ?2 OR "
                     "last_seen_ms <= ?3 OR id NOT IN (SELECT id FROM sessions WHERE user_id = ?1"
                     " ORDER BY last_seen_ms DESC, id DESC LIMIT ?4))");
  old.bind(1, user_id).bind(2, now_ms - ms(limits_.lifetime)).bind(3, now_ms - ms(limits_.idle));
  old.bind(4, static_cast<std::int64_t>(limits_.max_per_user));
  old.run();
  tx.commit();
  return out;
}

bool session_store::expired(const session_info& s, std::int64_t now_ms) const noexcept {
  return session_expired(limits_, s, now_ms);
}

bool session_store::stale(const session_info& s, std::int64_t now_ms) const noexcept {
  return now_ms - s.last_seen_ms >= ms(limits_.touch_every);
}

std::optional<signed_in> session_store::find(std::string_view token, std::int64_t now_ms) {
  const auto d = hash_of_token(token);
  if (!d) return std::nullopt;
  sql::statement st(
      db_, (std::string(session_columns) + ", s.token_hash FROM sessions s WHERE s.token_hash = ?")
               .c_str());
  st.bind_blob(1, as_view(*d));
  if (!st.row()) return std::nullopt;
  // The index compared hashes, which tell nothing about a token; this compare is constant in
  // time anyway, so no code path ever compares secrets byte by byte.
  if (!same_digest(st.text(6), as_view(*d))) return std::nullopt;
  signed_in out{read_session(st), {}};
  if (expired(out.session, now_ms)) return std::nullopt;
  auto who = account_store(db_).by_id(out.session.user_id);
  if (!who || who->banned) return std::nullopt;
  out.who = std::move(*who);
  return out;
}

void session_store::touch(std::int64_t session_id, std::int64_t now_ms) {
  sql::statement st(db_, "UPDATE sessions SET last_seen_ms = MAX(last_seen_ms, ?) WHERE id = ?");
  st.bind(1, now_ms).bind(2, session_id);
  st.run();
}

std::vector<session_info> session_store::list(std::int64_t user_id, std::int64_t now_ms) {
  sql::statement st(db_, (std::string(session_columns) +
                          " FROM sessions s WHERE s.user_id = ? ORDER BY s.last_seen_ms DESC")
                             .c_str());
  st.bind(1, user_id);
  std::vector<session_info> out;
  while (st.row()) {
    auto s = read_session(st);
    if (!expired(s, now_ms)) out.push_back(std::move(s));
  }
  return out;
}

bool session_store::revoke(std::int64_t user_id, std::int64_t session_id) {
  sql::statement st(db_, "DELETE FROM sessions WHERE id = ? AND user_id = ?");
  st.bind(1, session_id).bind(2, user_id);
  st.run();
  return db_.changes() > 0;
}

std::size_t session_store::revoke_all(std::int64_t user_id, std::int64_t keep) {
  sql::statement st(db_, "DELETE FROM sessions WHERE user_id = ? AND id != ?");
  st.bind(1, user_id).bind(2, keep);
  st.run();
  return static_cast<std::size_t>(db_.changes());
}

std::size_t session_store::purge_expired(std::int64_t now_ms) {
  sql::statement st(db_, "DELETE FROM sessions WHERE created_ms <= ? OR last_seen_ms <= ?");
  st.bind(1, now_ms - ms(limits_.lifetime)).bind(2, now_ms - ms(limits_.idle));
  st.run();
  return static_cast<std::size_t>(db_.changes());
}

}  // namespace duplex::chat
