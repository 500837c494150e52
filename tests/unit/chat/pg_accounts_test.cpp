// Accounts and sessions in PostgreSQL as two nodes see them (two pg_account_db on one database):
// a name or a look-alike taken through one is refused through the other, a session made through
// one signs in through the other, an ended session is announced, and an unreachable or silent
// server costs a bounded wait once, then fails at once.
#include "src/pg_accounts.hpp"

#include <gtest/gtest.h>

#include "src/account_service.hpp"
#include "src/pg_schema.hpp"
#include "support/loopback_listener.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr std::int64_t t0 = 1'700'000'000'000;

// Keys and look-alike keys as the names module would give them, spelled out for the test.
name_claim named(std::string display, std::string key, std::string skeleton) {
  return {std::move(display), std::move(key), std::move(skeleton)};
}

struct PgAccounts : ::testing::Test {
  void SetUp() override {
    pg = test::shared_pg();
    if (pg == nullptr) GTEST_SKIP() << test::pg_server::missing;
    db = pg->fresh_database();
    pg_migrate(pg->conninfo(db));
    a = pg_accounts(pg->conninfo(db), {})(account_db_use::worker);
    b = pg_accounts(pg->conninfo(db), {})(account_db_use::loop);
  }
  std::int64_t add(account_db& on, const name_claim& n) {
    std::int64_t id = 0;
    EXPECT_EQ(on.create_user(n, "hash-" + n.key, role::user, t0, &id), create_result::created);
    return id;
  }
  test::pg_server* pg = nullptr;
  std::string db;
  std::unique_ptr<account_db> a, b;
};

TEST_F(PgAccounts, ANameOrALookAlikeTakenOnOneNodeIsRefusedOnTheOther) {
  const auto alice = add(*a, named("Alice", "alice", "a1ice"));
  EXPECT_EQ(b->check_name(named("ALICE", "alice", "a1ice")), create_result::name_taken);
  EXPECT_EQ(b->create_user(named("ALICE", "alice", "a1ice"), "h", role::user, t0, nullptr),
            create_result::name_taken);
  // Another key, the same skeleton (say a Cyrillic "а"): a look-alike, refused by the database.
  EXPECT_EQ(b->create_user(named("аlice", "аlice", "a1ice"), "h", role::user, t0, nullptr),
            create_result::name_look_alike);
  EXPECT_TRUE(b->name_registered("alice", "zzz"));
  EXPECT_TRUE(b->name_registered("other", "a1ice"));
  EXPECT_FALSE(b->name_registered("bob", "b0b"));
  const auto who = b->by_key("alice");
  ASSERT_TRUE(who);
  EXPECT_EQ(who->id, alice);
  EXPECT_EQ(who->name, "Alice");
  EXPECT_EQ(b->password_hash(alice), "hash-alice");
}

TEST_F(PgAccounts, DisplayNamesShareTheSpaceOfSignInNames) {
  const auto alice = add(*a, named("alice", "alice", "a1ice"));
  const auto bob = add(*b, named("bob", "bob", "b0b"));
  // Bob may not show himself as Alice, nor as what looks like her.
  EXPECT_EQ(b->set_display(bob, named("Alice", "alice", "a1ice")), create_result::name_taken);
  EXPECT_EQ(b->set_display(bob, named("A1ice", "a1ice", "a1ice")), create_result::name_look_alike);
  // Alice may show her own name with other capitals.
  EXPECT_EQ(a->set_display(alice, named("ALICE", "alice", "a1ice")), create_result::created);
  EXPECT_EQ(b->shown_name("alice"), "ALICE");
  EXPECT_EQ(b->set_display(bob, named("Robert", "robert", "r0bert")), create_result::created);
  EXPECT_EQ(a->key_of_shown("robert"), "bob");
  EXPECT_EQ(a->create_user(named("robert", "robert", "r0bert"), "h", role::user, t0, nullptr),
            create_result::name_taken);
  // Dropping the display name frees it.
  EXPECT_EQ(b->set_display(bob, std::nullopt), create_result::created);
  EXPECT_EQ(a->check_name(named("robert", "robert", "r0bert")), create_result::created);
  EXPECT_EQ(a->key_of_shown("bob"), "bob");
}

TEST_F(PgAccounts, ASessionMadeOnOneNodeSignsInOnTheOtherUntilItEnds) {
  const auto alice = add(*a, named("alice", "alice", "a1ice"));
  const auto first = b->changes_elsewhere();
  EXPECT_TRUE(first.changed);  // a new connection: look once
  EXPECT_FALSE(first.ended) << "what ended meanwhile is not known: every session is checked";
  EXPECT_FALSE(b->changed_elsewhere());
  const auto s = a->create_session(alice, "Phone/1", "192.0.2.1", t0, "hash-alice");
  ASSERT_TRUE(s);
  EXPECT_FALSE(a->create_session(alice, "Phone/1", "192.0.2.1", t0, "an older hash"));
  const auto found = b->find_session(s->token, t0 + 1000);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->who.key, "alice");
  EXPECT_EQ(found->session.id, s->info.id);
  EXPECT_TRUE(b->session_exists(s->info.id));
  EXPECT_FALSE(b->find_session(std::string(64, '0'), t0));
  EXPECT_FALSE(b->find_session("not a token", t0));
  EXPECT_FALSE(b->changed_elsewhere()) << "a new session ends nothing";
  EXPECT_TRUE(a->revoke(alice, s->info.id));
  EXPECT_FALSE(b->find_session(s->token, t0 + 1000));
  EXPECT_FALSE(b->session_exists(s->info.id));
  // The notification is delivered at the commit; read on the next look.
  // ... with the session's id, so that a node closes that socket without reading every other.
  const auto deadline = clock::now() + 2s;
  account_db::session_changes told;
  while (!told.changed && clock::now() < deadline)
    told = b->changes_elsewhere();
  EXPECT_TRUE(told.changed);
  ASSERT_TRUE(told.ended);
  EXPECT_EQ(*told.ended, std::vector<std::int64_t>{s->info.id});
}

TEST_F(PgAccounts, BansAndNewPasswordsEndSessionsEverywhere) {
  const auto alice = add(*a, named("alice", "alice", "a1ice"));
  const auto one = a->create_session(alice, "", "", t0, "");
  const auto two = a->create_session(alice, "", "", t0, "");
  ASSERT_TRUE(one && two);
  EXPECT_EQ(b->set_password(alice, "new", t0, two->info.id), 1u);
  EXPECT_FALSE(a->session_exists(one->info.id));
  EXPECT_TRUE(a->find_session(two->token, t0));
  EXPECT_EQ(a->list_sessions(alice, t0).size(), 1u);
  EXPECT_EQ(b->set_banned(alice, true), 1u);
  EXPECT_FALSE(a->find_session(two->token, t0));
  EXPECT_FALSE(a->create_session(alice, "", "", t0, ""));
  EXPECT_FALSE(a->shown_name("alice"));
  const auto users = a->list_users();
  ASSERT_EQ(users.size(), 1u);
  EXPECT_TRUE(users[0].banned);
  EXPECT_EQ(b->set_banned(alice, false), 0u);
  EXPECT_TRUE(a->create_session(alice, "", "", t0, "new"));
  EXPECT_FALSE(b->set_banned(alice + 100, true));
}

TEST_F(PgAccounts, ExpiredSessionsSignNobodyInAndArePurged) {
  const auto alice = add(*a, named("alice", "alice", "a1ice"));
  const auto s = a->create_session(alice, "", "", t0, "");
  ASSERT_TRUE(s);
  const std::int64_t week = 7LL * 24 * 3600 * 1000;
  EXPECT_FALSE(b->find_session(s->token, t0 + week));
  a->touch(s->info.id, t0 + week - 1000);
  EXPECT_TRUE(b->find_session(s->token, t0 + week));
  EXPECT_EQ(a->purge_expired(t0 + 3 * week), 1u);
}

TEST_F(PgAccounts, NewLookAlikeRulesAreAppliedAndATakenOneKeepsTheOld) {
  add(*a, named("alice", "alice", "alice"));
  add(*a, named("a1ice", "a1ice", "a1ice"));
  // Under new rules both look like "a1ice": the first to ask keeps what it had.
  const auto kept = b->refresh_skeletons([](std::string_view name) {
    return name == "alice" ? std::string("a1ice") : std::string(name);
  });
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], "alice");
  const auto moved = b->refresh_skeletons([](std::string_view name) {
    return name == "alice" ? std::string("al1ce") : std::string(name);
  });
  EXPECT_TRUE(moved.empty());
  EXPECT_TRUE(a->name_registered("x", "al1ce"));
  EXPECT_FALSE(a->name_registered("x", "alice")) << "the old look-alike key is freed";
}

// The loop's connection cannot reach PostgreSQL (the workers' can): no change is reported (no
// session can end meanwhile), and a sweep may keep the sockets it cannot check.
TEST_F(PgAccounts, AnUnreachableServerEndsNoSessionOnTheLoop) {
  account_config c;
  c.open = [this](account_db_use use) -> std::unique_ptr<account_db> {
    if (use != account_db_use::loop) return pg_accounts(pg->conninfo(db), {})(use);
    pg_sync_options dead;
    dead.conninfo = "host=127.0.0.1 port=1 user=x dbname=x";
    return std::make_unique<pg_account_db>(dead, session_limits{});
  };
  account_service s(c, [](std::function<void()>) {});
  EXPECT_FALSE(s.changed_elsewhere());
  EXPECT_FALSE(s.session_alive(1));
  EXPECT_TRUE(s.session_alive(1, true));
  EXPECT_TRUE(s.authenticate(std::string(64, 'a')).failed);
  EXPECT_TRUE(s.name_registered("anyone", "anyone")) << "a guest is refused when it cannot say";
}

// An unreachable server, then one that accepts and never answers: the first call waits its bound
// at most, the next fails at once (the breaker), and nothing throws but a pg_error.
TEST(PgSync, BoundsEveryWaitAndFailsFastAfterAFailure) {
  pg_sync_options o;
  o.connect_timeout = 300ms;
  o.answer_timeout = 200ms;
  o.min_backoff = 500ms;
  test::loopback_listener silent;  // accepts (the backlog) and says nothing
  o.conninfo = "host=127.0.0.1 port=" + std::to_string(silent.port()) + " user=x dbname=x";
  pg_sync db(o);
  auto t = clock::now();
  EXPECT_THROW(db.exec("SELECT 1"), pg_error);
  auto took = clock::now() - t;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1s);
  t = clock::now();
  EXPECT_THROW(db.exec("SELECT 1"), pg_error);
  EXPECT_LT(clock::now() - t, 50ms) << "the breaker answers at once";
  EXPECT_THROW(db.notified(), pg_error);
}

TEST(PgSync, AStatementPastItsBoundIsCutAndTheNextConnectsAgain) {
  PG_OR_SKIP(pg);
  pg_sync_options o;
  o.conninfo = pg->conninfo();
  o.answer_timeout = 200ms;
  o.min_backoff = 1ms;
  pg_sync db(o);
  EXPECT_EQ(db.exec("SELECT 41 + $1::int", {"1"}).integer(0, 0), 42);
  const auto t = clock::now();
  EXPECT_THROW(db.exec("SELECT pg_sleep(5)"), pg_error);
  EXPECT_LT(clock::now() - t, 1s);
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(db.exec("SELECT 7").integer(0, 0), 7);
  try {
    db.exec("SELECT no_such_column FROM pg_class");
    FAIL();
  } catch (const pg_error& e) {
    EXPECT_EQ(e.sqlstate(), "42703");
  }
  EXPECT_EQ(db.exec("SELECT 8").integer(0, 0), 8) << "a statement's error keeps the connection";
}

// A connection ended between two statements of a transaction (an administrator, a failover):
// the rest must fail, not run in autocommit on a new connection and "commit" half the work.
TEST(PgSync, AConnectionEndedInsideATransactionFailsTheRestOfIt) {
  PG_OR_SKIP(pg);
  pg_sync_options o;
  o.conninfo = pg->conninfo();
  o.min_backoff = 1ms;
  pg_sync db(o);
  db.exec("CREATE TABLE IF NOT EXISTS half_tx (n int)");
  db.exec("TRUNCATE half_tx");
  pg_sync_options plain;
  plain.conninfo = pg->conninfo();
  pg_sync admin(plain);
  {
    pg_transaction tx(db);
    db.exec("INSERT INTO half_tx VALUES (1)");
    const std::string pid = db.exec("SELECT pg_backend_pid()::text").text(0, 0);
    admin.exec("SELECT pg_terminate_backend($1::int)", {pid});
    std::this_thread::sleep_for(100ms);  // the server's goodbye reaches the socket
    EXPECT_THROW(db.exec("INSERT INTO half_tx VALUES (2)"), pg_error);
  }
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(db.exec("SELECT count(*) FROM half_tx").integer(0, 0), 0) << "nothing of it stays";
}

// Notifications that arrive with other statements' answers are reported once, by the next look.
TEST(PgSync, NotificationsAreReportedOnceWhateverReadThem) {
  PG_OR_SKIP(pg);
  pg_sync_options o;
  o.conninfo = pg->conninfo();
  o.listen = {"duplex_test"};
  pg_sync listener(o);
  EXPECT_TRUE(listener.notified()) << "a new connection";
  EXPECT_FALSE(listener.notified());
  pg_sync_options plain;
  plain.conninfo = pg->conninfo();
  pg_sync other(plain);
  for (int i = 0; i < 3; ++i)
    other.exec("NOTIFY duplex_test, '" + std::to_string(i) + "'");
  const auto deadline = clock::now() + 2s;
  pg_sync::notices_t told;
  while (told.payloads.size() < 3 && clock::now() < deadline) {
    listener.exec("SELECT 1");  // reads whatever arrived with its answer
    auto n = listener.notices();
    told.any = told.any || n.any;
    told.complete = n.complete;
    told.payloads.insert(told.payloads.end(), n.payloads.begin(), n.payloads.end());
  }
  EXPECT_TRUE(told.any);
  EXPECT_TRUE(told.complete);
  EXPECT_EQ(told.payloads, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_FALSE(listener.notified()) << "each notification reported once";
}

}  // namespace
}  // namespace duplex::chat
