// Retention in PostgreSQL against a real server: what is past its feed's horizon goes with its
// reactions, a feed's own keep_days overrides the default (0: for ever), ids are not reused,
// and a pass larger than one batch goes on until it is done.
#include "src/pg_retention.hpp"

#include <gtest/gtest.h>

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

TEST_F(pg_retention_test, WithoutAConnectionAPassFailsAndTheNextOneRuns) {
  pg_retention r(loop, test::pg_at(*pg, db), 30);  // never started
  EXPECT_FALSE(prune(r).first);
  EXPECT_FALSE(prune(r).first);  // not stuck "running"
}

}  // namespace
}  // namespace duplex::chat
