// pg_store against a real PostgreSQL and a real redis-server: ids from PostgreSQL shared by two
// stores (two nodes), history that survives Redis restarting empty, reads as the hub asks them,
// conversations and read marks, and PostgreSQL restarted under traffic.
#include "src/pg_store.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <set>

#include "src/pg_schema.hpp"
#include "support/redis_server.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;
using test::run_until;

struct recorder final : store_listener {
  std::vector<std::int64_t> ids;
  int resyncs = 0;
  void on_message(const stored_message& m) override { ids.push_back(m.id); }
  void on_resync() override { ++resyncs; }
  void on_presence(const std::string&, const std::string&, bool) override {}
  std::set<std::int64_t> distinct() const { return {ids.begin(), ids.end()}; }
};

redis_options redis_at(std::uint16_t port) {
  redis_options o;
  o.port = port;
  o.min_backoff = 20ms;
  o.max_backoff = 200ms;
  return o;
}

// A migrated database of its own and a Redis for each test.
struct pg_store_test : ::testing::Test {
  void SetUp() override {
    pg = test::shared_pg();
    if (pg == nullptr) GTEST_SKIP() << test::pg_server::missing;
    db = pg->fresh_database();
    pg_migrate(pg->conninfo(db));
  }
  std::unique_ptr<pg_store> node() {
    auto s = std::make_unique<pg_store>(loop, test::pg_at(*pg, db), redis_at(redis.port()));
    s->start();
    return s;
  }
  // Appends and waits for the answer; the id, or 0 when it failed.
  std::int64_t say(pg_store& s, const std::string& room, const std::string& text) {
    std::int64_t got = -1;
    s.append({room, 0, "ann", text, 42}, [&](bool ok, std::int64_t id) { got = ok ? id : 0; });
    EXPECT_TRUE(run_until(loop, [&] { return got >= 0; }));
    return got;
  }
  std::vector<stored_message> range(pg_store& s, const std::string& room, std::int64_t after) {
    std::vector<stored_message> out;
    bool done = false;
    s.range(room, after, room_feed_end, 1000, [&](bool ok, std::vector<stored_message> m) {
      EXPECT_TRUE(ok);
      out = std::move(m);
      done = true;
    });
    EXPECT_TRUE(run_until(loop, [&] { return done; }));
    return out;
  }
  static constexpr std::int64_t room_feed_end = std::numeric_limits<std::int64_t>::max();

  test::pg_server* pg = nullptr;
  std::string db;
  test::redis_server redis;
  net::event_loop loop;
};

TEST_F(pg_store_test, TwoNodesShareDenseIdsAndEachHearsEveryMessage) {
  auto one = node(), two = node();
  recorder r1, r2;
  one->set_listener(&r1);
  two->set_listener(&r2);
  // A member on each node: both listen to the room's channel.
  one->set_presence("lobby", "ann", true);
  two->set_presence("lobby", "bob", true);
  ASSERT_TRUE(run_until(loop, [&] {
    return one->connected() && two->connected() && one->hears("lobby") && two->hears("lobby");
  }));
  int acked = 0;
  std::set<std::int64_t> ids;
  for (int i = 0; i < 40; ++i)
    (i % 2 ? *two : *one)
        .append({"lobby", 0, "ann", "m" + std::to_string(i), i}, [&](bool ok, std::int64_t id) {
          ASSERT_TRUE(ok);
          ids.insert(id);
          ++acked;
        });
  ASSERT_TRUE(run_until(loop, [&] { return acked == 40; }));
  std::set<std::int64_t> all;
  for (std::int64_t i = 1; i <= 40; ++i)
    all.insert(i);
  EXPECT_EQ(ids, all);  // dense, none twice
  ASSERT_TRUE(run_until(loop, [&] { return r1.distinct() == all && r2.distinct() == all; }));
  const auto stored = range(*one, "lobby", 0);
  ASSERT_EQ(stored.size(), 40u);
  EXPECT_EQ(stored.front().id, 1);
  EXPECT_EQ(stored.back().id, 40);
}

TEST_F(pg_store_test, ARedisThatComesBackEmptyDoesNotRestartIdsOrLoseHistory) {
  auto one = node();
  recorder r;
  one->set_listener(&r);
  ASSERT_TRUE(run_until(loop, [&] { return one->connected(); }));
  for (int i = 1; i <= 5; ++i)
    ASSERT_EQ(say(*one, "lobby", "before" + std::to_string(i)), i);
  redis.stop();
  // Redis down: appends are still stored, numbered and heard here; the bus is owed the last one.
  EXPECT_EQ(say(*one, "lobby", "during"), 6);
  EXPECT_EQ(one->unannounced(), 1u);
  redis.start();  // empty: no persistence
  const int resyncs = r.resyncs;
  ASSERT_TRUE(run_until(loop, [&] { return one->connected() && r.resyncs > resyncs; }));
  EXPECT_EQ(one->unannounced(), 0u);
  EXPECT_EQ(say(*one, "lobby", "after"), 7);
  const auto all = range(*one, "lobby", 0);
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[0].text, "before1");
  EXPECT_EQ(all[5].text, "during");
  // A second node started after the loss reads the same.
  auto two = node();
  ASSERT_TRUE(run_until(loop, [&] { return two->connected(); }));
  EXPECT_EQ(range(*two, "lobby", 5).size(), 2u);
}

TEST_F(pg_store_test, ReadsHistoryTheWayTheHubAsks) {
  auto s = node();
  ASSERT_TRUE(run_until(loop, [&] { return s->connected(); }));
  for (int i = 1; i <= 10; ++i)
    say(*s, "lobby", "m" + std::to_string(i));
  say(*s, "other", "x");
  say(*s, "@ann\nbob", "private");
  std::vector<std::string> texts;
  bool done = false;
  s->before("lobby", 8, 3, [&](bool ok, std::vector<stored_message> m) {
    ASSERT_TRUE(ok);
    for (auto& x : m)
      texts.push_back(x.text);
    done = true;
  });
  ASSERT_TRUE(run_until(loop, [&] { return done; }));
  EXPECT_EQ(texts, (std::vector<std::string>{"m5", "m6", "m7"}));  // oldest first
  done = false;
  s->range("lobby", 2, 4, 10, [&](bool ok, std::vector<stored_message> m) {
    EXPECT_TRUE(ok);
    EXPECT_EQ(m.size(), 2u);
    done = !m.empty() && m.back().id == 4;
  });
  ASSERT_TRUE(run_until(loop, [&] { return done; }));
  std::vector<std::string> names;
  s->rooms([&](bool ok, std::vector<std::string> n) {
    EXPECT_TRUE(ok);
    names = std::move(n);
  });
  ASSERT_TRUE(run_until(loop, [&] { return !names.empty(); }));
  EXPECT_EQ(names, (std::vector<std::string>{"lobby", "other"}));  // no private feed
  std::int64_t last = -1;
  s->last_id("lobby", [&](bool ok, std::int64_t id) { last = ok ? id : -2; });
  ASSERT_TRUE(run_until(loop, [&] { return last >= 0; }));
  EXPECT_EQ(last, 10);
  int found = -1;
  s->erase("lobby", 3, [&](bool ok, bool f) { found = ok && f; });
  ASSERT_TRUE(run_until(loop, [&] { return found >= 0; }));
  EXPECT_EQ(found, 1);
  EXPECT_EQ(range(*s, "lobby", 2).front().text, "");  // the id stays, the text goes
}

// A client that lost its connection resends with the same cid, maybe through another node, maybe
// while the first attempt is still in flight: one message, one id, whichever node answers.
TEST_F(pg_store_test, AResendWithItsCidLandsOnceThroughAnyNode) {
  auto one = node(), two = node();
  recorder r1;
  one->set_listener(&r1);
  one->set_presence("lobby", "ann", true);  // node one listens to the room
  ASSERT_TRUE(
      run_until(loop, [&] { return one->connected() && two->connected() && one->hears("lobby"); }));
  // Answers by the order of the sends: two nodes answer in any order.
  std::vector<std::optional<append_result>> answers(5);
  int answered = 0;
  auto send = [&](int i, pg_store& s, std::string author, std::string cid) {
    s.append_once({"lobby", 0, "ann", "hello", 1, std::move(cid), std::move(author)},
                  [&, i](append_result a) {
                    answers[static_cast<std::size_t>(i)] = a;
                    ++answered;
                  });
  };
  send(0, *one, "ann", "c-1");
  send(1, *two, "ann", "c-1");  // racing the first
  ASSERT_TRUE(run_until(loop, [&] { return answered == 2; }));
  send(2, *two, "ann", "c-1");  // later, after a reconnect
  send(3, *one, "bob", "c-1");  // another author's cid is another message
  send(4, *one, "ann", "c-2");
  ASSERT_TRUE(run_until(loop, [&] { return answered == 5; }));
  for (const auto& a : answers)
    ASSERT_TRUE(a->ok);
  const std::int64_t first = answers[0]->duplicate ? answers[1]->id : answers[0]->id;
  EXPECT_NE(answers[0]->duplicate, answers[1]->duplicate);
  EXPECT_EQ(answers[0]->id, first);
  EXPECT_EQ(answers[1]->id, first);
  EXPECT_TRUE(answers[2]->duplicate);
  EXPECT_EQ(answers[2]->id, first);
  EXPECT_FALSE(answers[3]->duplicate);
  EXPECT_FALSE(answers[4]->duplicate);
  const auto stored = range(*one, "lobby", 0);
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].cid, "c-1");  // read back, as SQLite does, for the page's matching
  // Heard (locally or through the bus) as the three messages stored, nothing more.
  const std::set<std::int64_t> ids{stored[0].id, stored[1].id, stored[2].id};
  ASSERT_TRUE(run_until(loop, [&] { return r1.distinct() == ids; }));
}

TEST_F(pg_store_test, KeepsConversationsAndReadMarks) {
  auto s = node();
  ASSERT_TRUE(run_until(loop, [&] { return s->connected(); }));
  s->add_conversation("@ann\nbob", "ann", "Ann", "bob", "Bob");
  s->add_conversation("@ann\nbob", "ann", "Ann", "bob", "Bobby");  // idempotent, name updated
  s->add_conversation("@ann\nann", "ann", "Ann", "ann", "Ann");    // with oneself
  say(*s, "@ann\nbob", "hi");
  s->set_read("ann", "@ann\nbob", 1);
  s->set_read("ann", "@ann\nbob", 0);  // lower: ignored
  s->set_read("ann", "lobby", 0);      // a first mark may be 0
  std::optional<user_record> rec;
  s->load_user("ann", [&](bool ok, user_record r) {
    EXPECT_TRUE(ok);
    rec = std::move(r);
  });
  ASSERT_TRUE(run_until(loop, [&] { return rec.has_value(); }));
  ASSERT_EQ(rec->conversations.size(), 2u);
  EXPECT_EQ(rec->conversations[1].peer, "bob");
  EXPECT_EQ(rec->conversations[1].peer_name, "Bobby");
  EXPECT_EQ(rec->conversations[1].last_id, 1);
  EXPECT_EQ(rec->read_marks,
            (std::vector<std::pair<std::string, std::int64_t>>{{"@ann\nbob", 1}, {"lobby", 0}}));
  rec.reset();
  s->load_user("bob", [&](bool, user_record r) { rec = std::move(r); });
  ASSERT_TRUE(run_until(loop, [&] { return rec.has_value(); }));
  ASSERT_EQ(rec->conversations.size(), 1u);
  EXPECT_EQ(rec->conversations[0].peer_name, "Ann");
}

TEST_F(pg_store_test, PostgresRestartedFailsSendsClearlyAndLosesNothingAcknowledged) {
  auto s = node();
  recorder r;
  s->set_listener(&r);
  ASSERT_TRUE(run_until(loop, [&] { return s->connected(); }));
  std::set<std::int64_t> acked;
  int failed = 0, answered = 0;
  for (int i = 0; i < 30; ++i)
    s->append({"lobby", 0, "ann", "m", 0}, [&](bool ok, std::int64_t id) {
      ++answered;
      if (ok)
        acked.insert(id);
      else
        ++failed;
    });
  ASSERT_TRUE(run_until(loop, [&] { return !acked.empty(); }));
  pg->stop();
  ASSERT_TRUE(run_until(loop, [&] { return answered == 30; }));
  EXPECT_EQ(say(*s, "lobby", "while down"), 0);  // refused at once
  pg->start();
  const int resyncs = r.resyncs;
  ASSERT_TRUE(run_until(
      loop, [&] { return s->connected() && r.resyncs > resyncs; }, 10s));
  const auto stored = range(*s, "lobby", 0);
  std::set<std::int64_t> kept;
  for (const auto& m : stored)
    kept.insert(m.id);
  for (auto id : acked)
    EXPECT_TRUE(kept.contains(id)) << "acknowledged id " << id << " lost";
  EXPECT_LE(kept.size(), acked.size() + 1);  // at most the one in flight, unacknowledged
  const auto next = say(*s, "lobby", "after");
  EXPECT_EQ(next, static_cast<std::int64_t>(kept.size()) + 1);  // dense, not reused
}

// Edits, deletions and reactions (issue 14, item 3): stored as events with ids of the feed,
// folded into their message by the statement that stores them, and read folded.
TEST_F(pg_store_test, FoldsEventsIntoTheirMessage) {
  auto s = node();
  ASSERT_TRUE(run_until(loop, [&] { return s->connected(); }));
  EXPECT_TRUE(s->keeps_events());
  auto put = [&](stored_message m) {
    std::int64_t got = -1;
    s->append(std::move(m), [&](bool ok, std::int64_t id) { got = ok ? id : 0; });
    EXPECT_TRUE(run_until(loop, [&] { return got >= 0; }));
    return got;
  };
  auto event = [&](const char* kind, std::int64_t target, const char* who, const char* text) {
    stored_message e{"lobby", 0, who, text, 50, {}, who};
    e.kind = kind;
    e.ref_id = target;
    return put(std::move(e));
  };
  const auto first = put({"lobby", 0, "ann", "helo", 42, {}, "ann"});
  const auto second = put({"lobby", 0, "ann", "oops", 43, {}, "ann"});
  stored_message reply{"lobby", 0, "bob", "re", 44, {}, "bob"};
  reply.ref_id = first;
  put(reply);
  EXPECT_EQ(event("edit", first, "bob", "not bob's"), 4);  // stored, changes nothing
  EXPECT_EQ(event("edit", first, "ann", "hello"), 5);
  event("react", first, "bob", "👍");
  event("react", first, "ann", "👍");
  event("react", first, "bob", "🎉");
  event("unreact", first, "bob", "🎉");
  event("react", second, "bob", "👍");
  event("delete", second, "ann", "");
  event("edit", second, "ann", "back from the dead");
  const auto all = range(*s, "lobby", 0);
  ASSERT_EQ(all.size(), 12u);
  EXPECT_EQ(all[0].text, "hello");
  EXPECT_EQ(all[0].edited_ms, 50);
  ASSERT_EQ(all[0].reactions.size(), 1u);
  EXPECT_EQ(all[0].reactions[0].emoji, "👍");
  EXPECT_EQ(all[0].reactions[0].nicks, (std::vector<std::string>{"bob", "ann"}));
  EXPECT_EQ(all[1].text, "");  // a tombstone: no text, no reaction, no edit after it
  EXPECT_TRUE(all[1].reactions.empty());
  EXPECT_EQ(all[2].ref_id, first);
  EXPECT_EQ(all[3].kind, "edit");
  EXPECT_EQ(all[3].ref_id, first);
  EXPECT_EQ(all[5].kind, "react");
  EXPECT_EQ(all[5].text, "👍");
}

// Files (issue 15): the attachment is stored with its message, crosses the bus to the other
// nodes, comes back with the history, and goes with a deletion.
TEST_F(pg_store_test, AMessagesFileIsStoredSharedAndDeletedWithIt) {
  struct files_heard final : store_listener {
    std::vector<std::string> files;
    void on_message(const stored_message& m) override { files.push_back(m.file); }
    void on_resync() override {}
    void on_presence(const std::string&, const std::string&, bool) override {}
  };
  auto one = node(), two = node();
  files_heard heard;
  two->set_listener(&heard);
  one->set_presence("lobby", "ann", true);
  two->set_presence("lobby", "bob", true);
  ASSERT_TRUE(run_until(loop, [&] {
    return one->connected() && two->connected() && one->hears("lobby") && two->hears("lobby");
  }));
  const std::string file = R"({"id":"0123456789abcdef0123456789abcdef","name":"a.png"})";
  stored_message m{"lobby", 0, "ann", "", 42, {}, "ann"};
  m.file = file;
  std::int64_t id = -1;
  one->append(m, [&](bool ok, std::int64_t got) { id = ok ? got : 0; });
  ASSERT_TRUE(run_until(loop, [&] { return id >= 0; }));
  ASSERT_EQ(id, 1);
  ASSERT_TRUE(run_until(loop, [&] { return !heard.files.empty(); }));
  EXPECT_EQ(nlohmann::json::parse(heard.files[0]), nlohmann::json::parse(file));
  ASSERT_EQ(range(*two, "lobby", 0).at(0).file, file);
  stored_message del{"lobby", 0, "ann", "", 50, {}, "ann"};
  del.kind = "delete";
  del.ref_id = 1;
  std::int64_t event = -1;
  one->append(del, [&](bool ok, std::int64_t got) { event = ok ? got : 0; });
  ASSERT_TRUE(run_until(loop, [&] { return event >= 0; }));
  EXPECT_EQ(range(*one, "lobby", 0).at(0).file, "");
}

}  // namespace
}  // namespace duplex::chat
