// Search in PostgreSQL (--pg), against a real server: words found only in the feeds asked
// for, newest first, with marked snippets and pages; an erased or edited body followed by the
// index; typed search syntax only text; a database from before search searchable after the
// upgrade.
#include "src/pg_search.hpp"

#include <gtest/gtest.h>

#include "src/pg_schema.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

using test::run_until;

struct pg_search_test : ::testing::Test {
  void SetUp() override {
    pg = test::shared_pg();
    if (pg == nullptr) GTEST_SKIP() << test::pg_server::missing;
    db = pg->fresh_database();
    pg_migrate(pg->conninfo(db));
    pg->exec(
        "INSERT INTO feeds VALUES ('plans', 3, true), ('other', 1, true),"
        " ('@alice\nbob', 1, false)",
        db);
    pg->exec(
        "INSERT INTO messages (feed, id, nick, body, ts_ms) VALUES"
        " ('plans', 1, 'alice', 'the purple elephant dances at noon', 10),"
        " ('other', 1, 'carol', 'purple is elsewhere too', 11),"
        " (E'@alice\\nbob', 1, 'alice', 'a secret PURPLE plan', 12),"
        " ('plans', 2, 'bob', 'nothing to see', 13),"
        " ('plans', 3, 'bob', 'NEAR(the) \"text\": a OR b', 14)",
        db);
  }
  void connect() {
    search = std::make_unique<pg_search>(loop, test::pg_at(*pg, db));
    search->start();
    ASSERT_TRUE(run_until(loop, [&] { return search->connected(); }));
  }
  std::pair<search_status, std::vector<search_hit>> find(const std::string& typed,
                                                         std::vector<std::string> feeds,
                                                         std::int64_t before = 0,
                                                         std::size_t limit = 50) {
    std::optional<std::pair<search_status, std::vector<search_hit>>> got;
    search->find({fts_query(typed), search_words(typed), std::move(feeds), before, limit},
                 [&](search_status s, std::vector<search_hit> h) { got.emplace(s, std::move(h)); });
    EXPECT_TRUE(run_until(loop, [&] { return got.has_value(); }));
    return got.value_or(std::pair{search_status::failed, std::vector<search_hit>{}});
  }

  test::pg_server* pg = nullptr;
  std::string db;
  net::event_loop loop;
  std::unique_ptr<pg_search> search;
};

TEST_F(pg_search_test, FindsOnlyInTheFeedsAskedNewestFirstWithMarks) {
  connect();
  auto [status, hits] = find("purple", {"plans", "@alice\nbob"});
  ASSERT_EQ(status, search_status::ok);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].feed, "@alice\nbob");
  EXPECT_EQ(hits[0].nick, "alice");
  EXPECT_EQ(hits[0].ts_ms, 12);
  EXPECT_EQ(hits[0].snippet, (std::vector<search_segment>{
                                 {"a secret ", false}, {"PURPLE", true}, {" plan", false}}));
  EXPECT_EQ(hits[1].feed, "plans");
  EXPECT_EQ(hits[1].id, 1);
  EXPECT_TRUE(find("purple", {"nowhere"}).second.empty());
  EXPECT_TRUE(find("elsewhere", {"plans", "@alice\nbob"}).second.empty());
  // Pages: before the last key seen.
  auto first = find("purple", {"plans", "other", "@alice\nbob"}, 0, 2).second;
  ASSERT_EQ(first.size(), 2u);
  auto rest = find("purple", {"plans", "other", "@alice\nbob"}, first.back().key, 2).second;
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].feed, "plans");
}

TEST_F(pg_search_test, AnErasedOrEditedBodyIsFollowed) {
  connect();
  pg->exec("UPDATE messages SET body = '' WHERE feed = 'plans' AND id = 1", db);
  EXPECT_TRUE(find("elephant", {"plans"}).second.empty());
  pg->exec("UPDATE messages SET body = 'tea at noon' WHERE feed = 'plans' AND id = 2", db);
  EXPECT_EQ(find("tea", {"plans"}).second.size(), 1u);
}

TEST_F(pg_search_test, TypedSyntaxIsOnlyText) {
  connect();
  for (const std::string q : {"\"", "NEAR(the)", "a | b", "!b", "a & b", "b:*", "'", "(", "\\",
                              "'; DROP TABLE messages; --", "text:"}) {
    EXPECT_EQ(find(q, {"plans"}).first, search_status::ok) << q;
  }
  EXPECT_EQ(find("NEAR(the)", {"plans"}).second.size(), 1u);
}

TEST_F(pg_search_test, ADatabaseFromBeforeSearchIsSearchableAfterTheUpgrade) {
  pg->exec(
      "DROP INDEX messages_words; DROP INDEX messages_search_key;"
      " ALTER TABLE messages DROP COLUMN words, DROP COLUMN search_key;"
      " UPDATE duplex_schema_version SET version = 2",
      db);
  EXPECT_EQ(pg_migrate(pg->conninfo(db)), 2);
  connect();
  EXPECT_EQ(find("elephant", {"plans"}).second.size(), 1u);
}

}  // namespace
}  // namespace duplex::chat
