// Retention in PostgreSQL against a real server: what is past its feed's horizon goes with its
// reactions, a feed's own keep_days overrides the default (0: for ever), ids are not reused,
// and a pass larger than one batch goes on until it is done.
#include "src/pg_retention.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "src/pg_schema.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

constexpr std::int64_t day_ms = 86'400'000;
constexpr std::int64_t now_ms = 400 * day_ms;

struct pg_retention_test : ::testing::Test {
  void SetUp() override {
    pg = test::shared_pg();
    if (pg == nullptr) GTEST_SKIP() << test::pg_server::missing;
    db = pg->fresh_database();
    pg_migrate(pg->conninfo(db));
  }
  // `count` messages in `feed` written `age_days` ago, ids from `first`.
  void write(const std::string& feed, int first, int count, int age_days) {
    pg->exec("INSERT INTO feeds VALUES ('" + feed + "', " + std::to_string(first + count - 1) +
                 ", true) ON CONFLICT (feed) DO UPDATE SET last_id = EXCLUDED.last_id",
             db);
    pg->exec("INSERT INTO messages (feed, id, nick, body, ts_ms) SELECT '" + feed +
                 "', g, 'ann', 'hi', " + std::to_string(now_ms - age_days * day_ms) +
                 " FROM generate_series(" + std::to_string(first) + ", " +
                 std::to_string(first + count - 1) + ") g",
             db);
  }
  std::int64_t number(const std::string& sql) {
    pg_link link(loop, test::pg_at(*pg, db));
    link.start();
    std::int64_t got = -1;
    EXPECT_TRUE(test::run_until(loop, [&] { return link.connected(); }));
    link.query(sql, {}, [&](const pg_reply& r) { got = r.ok() ? r.integer(0, 0) : -2; });
    EXPECT_TRUE(test::run_until(loop, [&] { return got != -1; }));
    return got;
  }
  std::pair<bool, std::int64_t> prune(pg_retention& r) {
    std::optional<std::pair<bool, std::int64_t>> got;
    r.prune(now_ms, [&](bool ok, std::int64_t n) { got.emplace(ok, n); });
    EXPECT_TRUE(test::run_until(loop, [&] { return got.has_value(); }));
    return got.value_or(std::pair{false, std::int64_t{-1}});
  }

  test::pg_server* pg = nullptr;
  std::string db;
  net::event_loop loop;
};

TEST_F(pg_retention_test, PrunesPastEachFeedsHorizonAndKeepsIds) {
  write("old", 1, 3, 40);    // past the 30-day default
  write("old", 4, 2, 1);     // recent: stays
  write("kept", 1, 2, 300);  // keep_days 0: for ever
  write("short", 1, 2, 3);   // keep_days 2: gone
  write("long", 1, 2, 40);   // keep_days 60: stays
  pg->exec("UPDATE feeds SET keep_days = 0 WHERE feed = 'kept'", db);
  pg->exec("UPDATE feeds SET keep_days = 2 WHERE feed = 'short'", db);
  pg->exec("UPDATE feeds SET keep_days = 60 WHERE feed = 'long'", db);
  pg->exec("INSERT INTO reactions VALUES ('old', 2, 'x', 'bob', 6), ('old', 4, 'x', 'bob', 7)", db);
  pg_retention r(loop, test::pg_at(*pg, db), 30);
  r.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return r.connected(); }));
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{5}));
  EXPECT_EQ(number("SELECT min(id) FROM messages WHERE feed = 'old'"), 4);
  EXPECT_EQ(number("SELECT count(*) FROM messages WHERE feed = 'kept'"), 2);
  EXPECT_EQ(number("SELECT count(*) FROM messages WHERE feed = 'short'"), 0);
  EXPECT_EQ(number("SELECT count(*) FROM messages WHERE feed = 'long'"), 2);
  EXPECT_EQ(number("SELECT count(*) FROM reactions"), 1);  // message 2's went with it
  // The counters are untouched: the next id of a pruned feed is not one given before.
  EXPECT_EQ(number("SELECT last_id FROM feeds WHERE feed = 'short'"), 2);
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{0}));
}

// An upload goes with the last message that carries it, its chunks with it; one that a recent
// message (here a resend in another feed's horizon) still carries stays.
TEST_F(pg_retention_test, FilesGoWithTheLastMessageCarryingThem) {
  write("old", 1, 4, 40);
  write("old", 5, 1, 1);
  const std::string gone(32, 'a'), kept(32, 'b');
  for (const auto& id : {gone, kept}) {
    pg->exec(
        "INSERT INTO uploads (id, uploader, feed, name, created_ms, complete, posted) VALUES"
        " ('" +
            id + "', 'ann', 'old', 'f', 1, true, true)",
        db);
    pg->exec("INSERT INTO upload_chunks VALUES ('" + id + "', 0, '\\x0102')", db);
  }
  auto carry = [&](int id, const std::string& file) {
    pg->exec("UPDATE messages SET file = '{\"id\":\"" + file +
                 "\"}' WHERE feed = 'old' AND id = " + std::to_string(id),
             db);
  };
  carry(1, gone);
  carry(2, gone);  // twice in one batch: still gone
  carry(3, kept);
  carry(5, kept);  // recent: keeps it
  pg_retention r(loop, test::pg_at(*pg, db), 30);
  r.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return r.connected(); }));
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{4}));
  EXPECT_EQ(number("SELECT count(*) FROM uploads WHERE id = '" + gone + "'"), 0);
  EXPECT_EQ(number("SELECT count(*) FROM upload_chunks WHERE upload = '" + gone + "'"), 0);
  EXPECT_EQ(number("SELECT count(*) FROM uploads WHERE id = '" + kept + "'"), 1);
  EXPECT_EQ(number("SELECT count(*) FROM upload_chunks WHERE upload = '" + kept + "'"), 1);
}

TEST_F(pg_retention_test, ADefaultOfZeroKeepsEverything) {
  write("old", 1, 3, 4000);
  pg_retention r(loop, test::pg_at(*pg, db), 0);
  r.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return r.connected(); }));
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{0}));
  EXPECT_EQ(number("SELECT count(*) FROM messages"), 3);
}

TEST_F(pg_retention_test, APassLargerThanABatchGoesOnUntilDone) {
  write("bulk", 1, static_cast<int>(pg_retention::max_batch) + 7, 90);
  pg_retention r(loop, test::pg_at(*pg, db), 30);
  r.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return r.connected(); }));
  EXPECT_EQ(prune(r), std::pair(true, pg_retention::max_batch + 7));
  EXPECT_EQ(number("SELECT count(*) FROM messages"), 0);
}

// While another connection holds the lock (another node pruning), a pass deletes nothing.
TEST_F(pg_retention_test, APassIsSkippedWhileAnotherConnectionHoldsTheLock) {
  write("old", 1, 3, 40);
  pg_link holder(loop, test::pg_at(*pg, db));
  holder.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return holder.connected(); }));
  std::string held;
  holder.query("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(pg_retention::lock_key)},
               [&](const pg_reply& r) { held = r.ok() ? std::string(r.text(0, 0)) : "error"; });
  ASSERT_TRUE(test::run_until(loop, [&] { return !held.empty(); }));
  ASSERT_EQ(held, "t");
  pg_retention r(loop, test::pg_at(*pg, db), 30);
  r.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return r.connected(); }));
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{0}));
  EXPECT_EQ(r.skipped(), 1u);
  EXPECT_EQ(number("SELECT count(*) FROM messages"), 3);
  bool freed = false;
  holder.query("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(pg_retention::lock_key)},
               [&](const pg_reply&) { freed = true; });
  ASSERT_TRUE(test::run_until(loop, [&] { return freed; }));
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{3}));
  EXPECT_EQ(r.skipped(), 1u);
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{0}));  // and the lock was given back
  EXPECT_EQ(r.skipped(), 1u);
}

// Two nodes' passes at the same moment: one prunes, the other is skipped.
TEST_F(pg_retention_test, TwoNodesPassingTogetherPruneOnce) {
  for (int f = 0; f < 20; ++f)
    write("feed" + std::to_string(f), 1, 50, 40);
  pg_retention a(loop, test::pg_at(*pg, db), 30), b(loop, test::pg_at(*pg, db), 30);
  a.start();
  b.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return a.connected() && b.connected(); }));
  std::optional<std::int64_t> by_a, by_b;
  a.prune(now_ms, [&](bool ok, std::int64_t n) { by_a = ok ? n : -1; });
  b.prune(now_ms, [&](bool ok, std::int64_t n) { by_b = ok ? n : -1; });
  ASSERT_TRUE(test::run_until(loop, [&] { return by_a && by_b; }));
  EXPECT_EQ(a.skipped() + b.skipped(), 1u);
  EXPECT_EQ(*by_a + *by_b, 20 * 50);
  EXPECT_TRUE(*by_a == 0 || *by_b == 0);
  EXPECT_EQ(number("SELECT count(*) FROM messages"), 0);
}

// Each feed is walked from its oldest id and only as far as what goes: a young message stops
// the walk, and a feed whose oldest message is young is not touched.
TEST_F(pg_retention_test, AFeedIsPrunedFromItsOldestIdUpToTheFirstYoungOne) {
  write("mixed", 1, 4, 40);
  write("mixed", 5, 1, 1);
  write("mixed", 6, 1, 40);  // older than the one before it: waits for that one
  write("young", 1, 3, 1);
  pg_retention r(loop, test::pg_at(*pg, db), 30);
  r.start();
  ASSERT_TRUE(test::run_until(loop, [&] { return r.connected(); }));
  EXPECT_EQ(prune(r), std::pair(true, std::int64_t{4}));
  EXPECT_EQ(number("SELECT (string_agg(id::text, ',' ORDER BY id) = '5,6')::int FROM messages"
                   " WHERE feed = 'mixed'"),
            1);
  EXPECT_EQ(number("SELECT count(*) FROM messages WHERE feed = 'young'"), 3);
}

TEST_F(pg_retention_test, WithoutAConnectionAPassFailsAndTheNextOneRuns) {
  pg_retention r(loop, test::pg_at(*pg, db), 30);  // never started
  EXPECT_FALSE(prune(r).first);
  EXPECT_FALSE(prune(r).first);  // not stuck "running"
}

}  // namespace
}  // namespace duplex::chat
