// Sessions: random tokens stored as hashes, expiry, revocation, and the per-user bound.
#include <gtest/gtest.h>
#include <sodium.h>

#include "accounts/accounts_support.hpp"
#include "src/schema.hpp"
#include "src/sessions.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;
using test::claim;

constexpr std::int64_t t0 = 1'700'000'000'000;

struct Sessions : ::testing::Test {
  Sessions() : db(file.path(), std::chrono::seconds(1)) {
    configure(db);
    migrate(db);
    account_store users(db);
    users.create(claim("ann"), "hash-a", role::user, t0, &ann);
    users.create(claim("bob"), "hash-b", role::user, t0, &bob);
    limits.lifetime = 10h;
    limits.idle = 1h;
    limits.max_per_user = 3;
  }
  session_store store() { return session_store(db, limits); }
  new_session open(std::int64_t user, std::int64_t at = t0) {
    auto s = store().create(user, "Mozilla/5.0", "127.0.0.1", at);
    EXPECT_TRUE(s);
    return *s;
  }
  test::temp_db file;
  sql::connection db;
  session_limits limits;
  std::int64_t ann = 0, bob = 0;
};

TEST_F(Sessions, ATokenFindsItsSessionAndUser) {
  const auto s = open(ann);
  ASSERT_EQ(s.token.size(), 64u);
  EXPECT_EQ(s.token.find_first_not_of("0123456789abcdef"), std::string::npos);
  const auto found = store().find(s.token, t0 + 1000);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->who.id, ann);
  EXPECT_EQ(found->who.name, "ann");
  EXPECT_EQ(found->session.id, s.info.id);
  EXPECT_EQ(found->session.user_agent, "Mozilla/5.0");
  EXPECT_EQ(found->session.address, "127.0.0.1");
  EXPECT_EQ(found->session.created_ms, t0);
  EXPECT_NE(open(ann).token, s.token);
}

TEST_F(Sessions, WrongOrMalformedTokensFindNothing) {
  const auto s = open(ann);
  std::string flipped = s.token;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(store().find(flipped, t0));
  std::string upper = s.token;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper, s.token);  // 64 random hex digits include a letter (1 - 2^-40)
  EXPECT_FALSE(store().find(upper, t0));
  EXPECT_FALSE(store().find(s.token.substr(1), t0));
  EXPECT_FALSE(store().find(s.token + "0", t0));
  EXPECT_FALSE(store().find("", t0));
  EXPECT_FALSE(store().find(std::string(64, 'z'), t0));
}

// A copy of the database gives no cookie: only SHA-256 of the token's bytes is stored.
TEST_F(Sessions, OnlyTheHashOfATokenIsStored) {
  const auto s = open(ann);
  unsigned char raw[32];
  ASSERT_EQ(
      sodium_hex2bin(raw, sizeof raw, s.token.data(), s.token.size(), nullptr, nullptr, nullptr),
      0);
  unsigned char digest[32];
  crypto_hash_sha256(digest, raw, sizeof raw);
  sql::statement st(db, "SELECT token_hash, hex(token_hash) FROM sessions WHERE id = ?");
  st.bind(1, s.info.id);
  ASSERT_TRUE(st.row());
  EXPECT_EQ(st.text(0), std::string(reinterpret_cast<const char*>(digest), 32));
  sql::statement all(db, "SELECT * FROM sessions");
  std::string dump;
  while (all.row())
    for (int c = 0; c < 7; ++c)
      dump += all.text(c) + "|";
  EXPECT_EQ(dump.find(s.token), std::string::npos);
  EXPECT_EQ(dump.find(std::string(reinterpret_cast<const char*>(raw), 32)), std::string::npos);
}

TEST_F(Sessions, ExpireAfterTheirLifetimeAndWhenIdle) {
  const auto s = open(ann);
  EXPECT_TRUE(store().find(s.token, t0 + 59 * 60'000));
  EXPECT_FALSE(store().find(s.token, t0 + 60 * 60'000));  // idle for an hour
  // Seen now and then, it lives until its lifetime ends, and not longer.
  for (int h = 0; h < 12; ++h) {  // every 50 minutes, until 9 h 10 min
    ASSERT_TRUE(store().find(s.token, t0 + h * 3'000'000)) << h;
    store().touch(s.info.id, t0 + h * 3'000'000);
  }
  EXPECT_TRUE(store().find(s.token, t0 + 10 * 3'600'000 - 1));
  EXPECT_FALSE(store().find(s.token, t0 + 10 * 3'600'000));
  EXPECT_TRUE(store().list(ann, t0 + 10 * 3'600'000).empty());
  EXPECT_EQ(store().purge_expired(t0 + 10 * 3'600'000), 1u);
}

TEST_F(Sessions, StaleOnlyAfterTouchInterval) {
  const auto s = open(ann);
  EXPECT_FALSE(store().stale(s.info, t0 + 59'000));
  EXPECT_TRUE(store().stale(s.info, t0 + 60'000));
}

TEST_F(Sessions, RevokeOneOthersOrAll) {
  const auto a1 = open(ann), a2 = open(ann), a3 = open(ann), b1 = open(bob);
  EXPECT_FALSE(store().revoke(bob, a1.info.id));  // not bob's to end
  EXPECT_TRUE(store().find(a1.token, t0));
  EXPECT_TRUE(store().revoke(ann, a1.info.id));
  EXPECT_FALSE(store().find(a1.token, t0));
  EXPECT_FALSE(store().revoke(ann, a1.info.id));
  EXPECT_EQ(store().revoke_all(ann, a2.info.id), 1u);
  EXPECT_TRUE(store().find(a2.token, t0));
  EXPECT_FALSE(store().find(a3.token, t0));
  EXPECT_TRUE(store().find(b1.token, t0));
  EXPECT_EQ(store().revoke_all(ann), 1u);
  EXPECT_FALSE(store().find(a2.token, t0));
  EXPECT_TRUE(store().find(b1.token, t0));
}

TEST_F(Sessions, ListedMostRecentFirstAndBoundedPerUser) {
  const auto a1 = open(ann, t0), a2 = open(ann, t0 + 1), a3 = open(ann, t0 + 2);
  store().touch(a1.info.id, t0 + 10);
  auto list = store().list(ann, t0 + 20);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id, a1.info.id);
  EXPECT_EQ(list[0].last_seen_ms, t0 + 10);
  // A fourth device ends the least recently seen one (a2).
  const auto a4 = open(ann, t0 + 30);
  list = store().list(ann, t0 + 40);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_FALSE(store().find(a2.token, t0 + 40));
  EXPECT_TRUE(store().find(a1.token, t0 + 40));
  EXPECT_TRUE(store().find(a3.token, t0 + 40));
  EXPECT_TRUE(store().find(a4.token, t0 + 40));
}

TEST_F(Sessions, NoneForABannedUserOrAChangedPassword) {
  const auto s = open(ann);
  account_store(db).set_banned(ann, true);
  EXPECT_FALSE(store().find(s.token, t0));
  EXPECT_FALSE(store().create(ann, "ua", "addr", t0));
  account_store(db).set_banned(ann, false);
  EXPECT_TRUE(store().find(s.token, t0));
  // A sign-in checked against "hash-a" finds the hash changed: no session.
  account_store(db).set_password_hash(ann, "hash-a2", t0);
  EXPECT_FALSE(store().create(ann, "ua", "addr", t0, "hash-a"));
  EXPECT_TRUE(store().create(ann, "ua", "addr", t0, "hash-a2"));
  EXPECT_FALSE(store().create(ann + bob + 1, "ua", "addr", t0));  // no such user
}

TEST_F(Sessions, UserAgentIsCleanedAndBounded) {
  limits.max_user_agent_bytes = 8;
  const auto s = store().create(ann, "Ab\x01\xff\n[x]zzzzz", "::1", t0);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->info.user_agent, "Ab???[x]");
  EXPECT_EQ(store().list(ann, t0)[0].user_agent, "Ab???[x]");
}

// The lookup on the loop is a search by index, never a scan of the table.
TEST_F(Sessions, LookupIsAnIndexSearch) {
  sql::statement plan(db, "EXPLAIN QUERY PLAN SELECT id FROM sessions s WHERE s.token_hash = ?");
  std::string steps;
  while (plan.row())
    steps += plan.text(3) + ";";
  EXPECT_NE(steps.find("SEARCH"), std::string::npos) << steps;
  EXPECT_EQ(steps.find("SCAN"), std::string::npos) << steps;
}

}  // namespace
}  // namespace duplex::chat
