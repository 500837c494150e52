// pg_link against a real PostgreSQL (a private cluster started once for this binary): statements
// in order with their rows, clear errors, the bounded queue, and the server stopped and started
// again in the middle of traffic.
#include "src/pg_link.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "support/pg_server.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;
using test::run_until;

TEST(PgLink, RunsStatementsInOrderWithTheirRows) {
  PG_OR_SKIP(pg);
  net::event_loop loop;
  pg_link link(loop, test::pg_at(*pg, pg->fresh_database()));
  std::vector<bool> states;
  link.on_state = [&](bool up) { states.push_back(up); };
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::vector<std::string> got;
  link.query("CREATE TABLE t (n bigint, s text)", {}, [&](const pg_reply& r) {
    EXPECT_TRUE(r.ok()) << r.error();
    got.push_back("created");
  });
  for (int i = 0; i < 50; ++i)
    link.query("INSERT INTO t VALUES ($1, $2)", {std::to_string(i), "é'\"\\" + std::to_string(i)},
               [&](const pg_reply& r) {
                 EXPECT_TRUE(r.ok()) << r.error();
                 got.push_back(std::to_string(r.affected()));
               });
  std::vector<std::string> rows;
  link.query("SELECT n, s, NULL FROM t WHERE n >= $1 ORDER BY n", {"48"}, [&](const pg_reply& r) {
    ASSERT_TRUE(r.ok()) << r.error();
    for (int i = 0; i < r.rows(); ++i)
      rows.push_back(std::to_string(r.integer(i, 0)) + "=" + std::string(r.text(i, 1)) +
                     (r.is_null(i, 2) ? "" : "!"));
  });
  ASSERT_TRUE(run_until(loop, [&] { return rows.size() == 2; }));
  ASSERT_EQ(got.size(), 51u);
  EXPECT_EQ(got.front(), "created");
  EXPECT_EQ(got.back(), "1");
  EXPECT_EQ(rows, (std::vector<std::string>{"48=é'\"\\48", "49=é'\"\\49"}));
  EXPECT_EQ(states, std::vector<bool>{true});
}

TEST(PgLink, ReportsErrorsAndGoesOn) {
  PG_OR_SKIP(pg);
  net::event_loop loop;
  pg_link link(loop, test::pg_at(*pg, pg->fresh_database()));
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::vector<std::string> errors;
  bool after = false;
  auto note = [&](const pg_reply& r) { errors.push_back(r.ok() ? "ok" : r.error()); };
  link.query("SELECT $1", {std::string("a\0b", 3)}, note);  // refused before it is sent
  link.query("SELEKT 1", {}, note);
  link.query("SELECT $1::int", {"not a number"}, note);
  // A failed statement in a multi-statement exchange does not poison the next one.
  link.query("SELECT 1", {}, [&](const pg_reply& r) { after = r.ok() && r.integer(0, 0) == 1; });
  ASSERT_TRUE(run_until(loop, [&] { return after; }));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("NUL"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("syntax error"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("invalid input syntax"), std::string::npos) << errors[2];
  // An exception from a callback reaches the loop's count, and the link carries on.
  link.query("SELECT 1", {}, [](const pg_reply&) { throw std::runtime_error("callback threw"); });
  bool later = false;
  link.query("SELECT 2", {}, [&](const pg_reply& r) { later = r.integer(0, 0) == 2; });
  ASSERT_TRUE(run_until(loop, [&] { return later; }));
  EXPECT_EQ(loop.exception_count(), 1u);
}

TEST(PgLink, RefusesPastItsQueueBound) {
  PG_OR_SKIP(pg);
  net::event_loop loop;
  auto opts = test::pg_at(*pg, pg->fresh_database());
  opts.max_queued = 3;
  pg_link link(loop, opts);
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  int ok = 0;
  std::string refused;
  for (int i = 0; i < 5; ++i)
    link.query("SELECT pg_sleep(0.01)", {}, [&](const pg_reply& r) {
      if (r.ok())
        ++ok;
      else
        refused = r.error();
    });
  EXPECT_NE(refused.find("too slow"), std::string::npos) << refused;  // answered at once
  ASSERT_TRUE(run_until(loop, [&] { return ok == 3; }));
  EXPECT_EQ(link.queued(), 0u);
}

TEST(PgLink, FailsClearlyWhileDownAndComesBackAfterARestart) {
  PG_OR_SKIP(pg);
  net::event_loop loop;
  pg_link link(loop, test::pg_at(*pg, pg->fresh_database()));
  std::vector<bool> states;
  link.on_state = [&](bool up) { states.push_back(up); };
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::string table_made;
  link.query("CREATE TABLE t (n bigint)", {},
             [&](const pg_reply& r) { table_made = r.error() + "."; });
  ASSERT_TRUE(run_until(loop, [&] { return !table_made.empty(); }));
  // Traffic in flight and queued when the server goes: every statement gets an answer, the
  // acknowledged ones are in the table afterwards.
  int acked = 0, failed = 0, sent = 0;
  std::string failure;
  std::function<void()> more = [&] {
    if (sent >= 400) return;
    const int n = sent++;
    link.query("INSERT INTO t VALUES ($1)", {std::to_string(n)}, [&](const pg_reply& r) {
      if (r.ok())
        ++acked;
      else {
        ++failed;
        failure = r.error();
      }
    });
  };
  for (int i = 0; i < 20; ++i)
    more();
  ASSERT_TRUE(run_until(loop, [&] { return acked > 0; }));
  pg->stop();
  ASSERT_TRUE(run_until(loop, [&] { return !link.connected(); }));
  EXPECT_EQ(acked + failed, 20);
  // While it is down every statement is answered at once with the reason.
  std::string while_down;
  link.query("SELECT 1", {}, [&](const pg_reply& r) { while_down = r.error(); });
  EXPECT_NE(while_down.find("PostgreSQL unavailable"), std::string::npos) << while_down;
  run_until(
      loop, [] { return false; }, 200ms);  // retries back off meanwhile
  pg->start();
  ASSERT_TRUE(run_until(
      loop, [&] { return link.connected(); }, 10s));
  EXPECT_EQ(states, (std::vector<bool>{true, false, true}));
  std::int64_t stored = -1;
  link.query("SELECT count(*) FROM t", {}, [&](const pg_reply& r) { stored = r.integer(0, 0); });
  ASSERT_TRUE(run_until(loop, [&] { return stored >= 0; }));
  // At least every acknowledged row; more only by what was in flight when the server died.
  EXPECT_GE(stored, acked);
  EXPECT_LE(stored, acked + 1);
  if (failed > 0) {
    EXPECT_NE(failure.find("connection lost"), std::string::npos) << failure;
  }
}

TEST(PgLink, AStatementWithoutAnAnswerEndsTheConnectionAndFailsClearly) {
  PG_OR_SKIP(pg);
  net::event_loop loop;
  auto opts = test::pg_at(*pg, pg->fresh_database());
  opts.answer_timeout = 300ms;
  pg_link link(loop, opts);
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::string slow, queued;
  link.query("SELECT pg_sleep(30)", {}, [&](const pg_reply& r) { slow = r.error(); });
  link.query("SELECT 1", {}, [&](const pg_reply& r) { queued = r.error(); });
  ASSERT_TRUE(run_until(loop, [&] { return !slow.empty(); }));
  EXPECT_NE(slow.find("no answer in 300 ms"), std::string::npos) << slow;
  EXPECT_NE(slow.find("may have been applied"), std::string::npos) << slow;
  EXPECT_NE(queued.find("was not sent"), std::string::npos) << queued;
  // A fresh connection serves the next statement.
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  bool ok = false;
  link.query("SELECT 1", {}, [&](const pg_reply& r) { ok = r.ok(); });
  ASSERT_TRUE(run_until(loop, [&] { return ok; }));
}

TEST(PgLink, StartsWithTheServerUnreachableAndKeepsTrying) {
  PG_OR_SKIP(pg);
  net::event_loop loop;
  pg_options o = test::pg_at(*pg, "postgres");
  o.conninfo = "host=127.0.0.1 port=1 user=duplex connect_timeout=2";
  pg_link link(loop, o);
  std::string why;
  link.start();
  run_until(
      loop, [] { return false; }, 100ms);
  link.query("SELECT 1", {}, [&](const pg_reply& r) { why = r.error(); });
  EXPECT_FALSE(link.connected());
  EXPECT_NE(why.find("PostgreSQL unavailable"), std::string::npos) << why;
  EXPECT_FALSE(link.last_error().empty());
}

}  // namespace
}  // namespace duplex::chat
