// The bus sharded over several real redis-servers: where names go (shard_map), a node that
// hears only the rooms it has members in, and a shard down that pauses only its rooms.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/redis_link.hpp"
#include "src/redis_store.hpp"
#include "src/shard_map.hpp"
#include "support/redis_server.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;

bool run_until(net::event_loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5000ms) {
  bool timed_out = false;
  const auto deadline = loop.add_timer(limit, [&] {
    timed_out = true;
    loop.stop();
  });
  const auto poll = loop.add_timer(
      5ms,
      [&] {
        if (done()) loop.stop();
      },
      true);
  if (!done()) loop.run();
  loop.cancel_timer(deadline);
  loop.cancel_timer(poll);
  return !timed_out && done();
}

redis_options at(std::uint16_t port) {
  redis_options o;
  o.port = port;
  o.min_backoff = 20ms;
  o.max_backoff = 200ms;
  return o;
}

TEST(ShardMap, SpreadsNamesAndMovesFewWhenAShardIsAdded) {
  const shard_map three({"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"});
  const shard_map reordered({"10.0.0.3:6379", "10.0.0.1:6379", "10.0.0.2:6379"});
  const shard_map four({"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379", "10.0.0.4:6379"});
  constexpr int names = 3000;
  std::vector<int> per(3);
  int moved = 0;
  for (int i = 0; i < names; ++i) {
    const std::string name = "room-" + std::to_string(i);
    const std::size_t s = three.of(name);
    ++per[s];
    // The same server whatever the order of the list: index k of `reordered` is (k+2)%3 here.
    EXPECT_EQ((reordered.of(name) + 2) % 3, s) << name;
    const std::size_t s4 = four.of(name);
    if (s4 != s) {
      ++moved;
      EXPECT_EQ(s4, 3u) << name << " moved between two old shards";
    }
  }
  for (int n : per)
    EXPECT_TRUE(n > names / 3 * 8 / 10 && n < names / 3 * 12 / 10) << n << " of " << names;
  // About a quarter go to the new shard, and nothing else moves.
  EXPECT_TRUE(moved > names / 4 * 8 / 10 && moved < names / 4 * 12 / 10) << moved;
  EXPECT_EQ(shard_map({"only:1"}).of("anything"), 0u);
}

// Pinned: a change of the hash would move every room of a running cluster on upgrade.
TEST(ShardMap, TheHashIsTheSameOnEveryBuild) {
  EXPECT_EQ(shard_map::hash("127.0.0.1:6379", "lobby"), shard_map::hash("127.0.0.1:6379", "lobby"));
  EXPECT_NE(shard_map::hash("ab", "c"), shard_map::hash("a", "bc"));
  EXPECT_EQ(shard_map::hash("127.0.0.1:6379", "lobby"), 0x635e59ab447d5b8eULL);
}

TEST(RedisUrls, OneOrSeveral) {
  EXPECT_EQ(parse_redis_urls("redis://a:1").size(), 1u);
  const auto three = parse_redis_urls("redis://a:1,redis://b:2,redis://c");
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[1].host, "b");
  EXPECT_EQ(three[2].port, 6379);
  EXPECT_THROW(parse_redis_urls("redis://a:1,"), std::invalid_argument);
  EXPECT_THROW(parse_redis_urls("redis://a:1,redis://a:1"), std::invalid_argument);
}

// A leave and a join of the same channel before Redis answered: it ends subscribed, and heard.
TEST(RedisLink, AQuickLeaveAndJoinEndsListening) {
  test::redis_server redis;
  net::event_loop loop;
  redis_link sub(loop, at(redis.port())), pub(loop, at(redis.port()));
  std::vector<std::string> heard;
  sub.subscribe({"keep"}, [&](std::string_view, std::string_view p) { heard.emplace_back(p); });
  sub.start();
  pub.start();
  ASSERT_TRUE(run_until(loop, [&] { return sub.connected() && pub.connected(); }));
  for (int i = 0; i < 5; ++i) {
    sub.listen("ch", true);
    sub.listen("ch", false);
  }
  sub.listen("ch", true);
  ASSERT_TRUE(run_until(loop, [&] { return sub.listening("ch"); }));
  pub.command({"PUBLISH", "ch", "one"}, nullptr);
  ASSERT_TRUE(run_until(loop, [&] { return heard.size() == 1; }));
  sub.listen("ch", false);
  ASSERT_TRUE(run_until(loop, [&] { return sub.channels() == 1; }));  // "keep" only
  bool answered = false;
  pub.command({"PUBLISH", "ch", "two"}, [&](const redisReply* r) {
    answered = true;
    EXPECT_EQ(r->integer, 0);  // nobody listens any more
  });
  ASSERT_TRUE(run_until(loop, [&] { return answered; }));
  EXPECT_EQ(heard.size(), 1u);
  EXPECT_EQ(sub.messages_received(), 1u);
  EXPECT_EQ(sub.bytes_received(), std::string("chone").size());
}

struct three_shards : ::testing::Test {
  test::redis_server r1, r2, r3;
  net::event_loop loop;
  std::vector<redis_options> shards() const {
    return {at(r1.port()), at(r2.port()), at(r3.port())};
  }
  test::redis_server& server(std::size_t i) { return i == 0 ? r1 : i == 1 ? r2 : r3; }
  // A room name that `store` places on shard `want`.
  static std::string room_on(const redis_store& store, std::size_t want, std::string base) {
    for (int i = 0;; ++i)
      if (store.shard_of(base + std::to_string(i)) == want) return base + std::to_string(i);
  }
  static std::uint64_t bytes(const redis_store& s) {
    std::uint64_t n = 0;
    for (const auto& t : s.traffic())
      n += t.bytes_received;
    return n;
  }
};

struct hearing final : store_listener {
  std::vector<stored_message> got;
  std::vector<std::string> resynced;  // of the feeds asked about
  std::vector<std::string> ask;
  void on_message(const stored_message& m) override { got.push_back(m); }
  void on_resync() override {}
  void on_resync_feeds(const std::function<bool(const std::string&)>& pick) override {
    for (const auto& f : ask)
      if (pick(f)) resynced.push_back(f);
  }
  void on_presence(const std::string&, const std::string&, bool) override {}
};

TEST_F(three_shards, ANodeHearsOnlyTheRoomsItHasMembersIn) {
  redis_store a(loop, shards()), b(loop, shards());
  hearing heard_by_b;
  b.set_listener(&heard_by_b);
  a.start();
  b.start();
  const std::string room = room_on(a, 1, "busy");
  a.set_presence(room, "ann", true);
  ASSERT_TRUE(run_until(loop, [&] { return a.hears(room) && b.connected(); }));
  const std::uint64_t before = bytes(b);
  int stored = 0;
  for (int i = 0; i < 20; ++i)
    a.append({room, 0, "ann", "text " + std::to_string(i), 1},
             [&](bool ok, std::int64_t) { stored += ok; });
  ASSERT_TRUE(run_until(loop, [&] { return stored == 20; }));
  // A's presence refresh and the room's messages: none of it reaches B.
  ASSERT_TRUE(run_until(loop, [&] { return a.traffic()[1].messages_received >= 20; }));
  EXPECT_EQ(bytes(b), before);
  EXPECT_TRUE(heard_by_b.got.empty());
  // The room's keys are on its shard only.
  for (std::size_t i = 0; i < 3; ++i) {
    redis_link probe(loop, at(server(i).port()));
    probe.start();
    ASSERT_TRUE(run_until(loop, [&] { return probe.connected(); }));
    long long exists = -1;
    probe.command({"EXISTS", "duplex-chat:room:" + room + ":seq"},
                  [&](const redisReply* r) { exists = r->integer; });
    ASSERT_TRUE(run_until(loop, [&] { return exists >= 0; }));
    EXPECT_EQ(exists, i == 1 ? 1 : 0) << "shard " << i;
  }
  // A member on B: B listens from now on, and is told to catch up with the room.
  heard_by_b.ask = {room};
  b.set_presence(room, "bob", true);
  ASSERT_TRUE(run_until(loop, [&] { return b.hears(room) && !heard_by_b.resynced.empty(); }));
  a.append({room, 0, "ann", "now B hears", 1}, [](bool, std::int64_t) {});
  ASSERT_TRUE(run_until(loop, [&] { return !heard_by_b.got.empty(); }));
  EXPECT_EQ(heard_by_b.got.back().id, 21);
  EXPECT_GT(b.traffic()[1].bytes_received, 0u);
  EXPECT_EQ(b.traffic()[0].messages_received + b.traffic()[2].messages_received, 0u);
  // The last member gone: B stops listening.
  b.set_presence(room, "bob", false);
  ASSERT_TRUE(run_until(loop, [&] { return b.traffic()[1].channels == 1; }));
  EXPECT_FALSE(b.hears(room));
}

TEST_F(three_shards, AShardDownPausesOnlyItsRoomsAndTheyCatchUp) {
  redis_store a(loop, shards());
  hearing heard;
  a.set_listener(&heard);
  a.start();
  const std::string down = room_on(a, 0, "paused"), up = room_on(a, 2, "going");
  a.set_presence(down, "ann", true);
  a.set_presence(up, "ann", true);
  ASSERT_TRUE(run_until(loop, [&] { return a.hears(down) && a.hears(up); }));
  r1.stop();
  ASSERT_TRUE(run_until(loop, [&] { return !a.connected(); }));
  std::vector<std::pair<std::string, bool>> answers;
  a.append({down, 0, "ann", "lost?", 1},
           [&](bool ok, std::int64_t) { answers.emplace_back(down, ok); });
  a.append({up, 0, "ann", "goes on", 1},
           [&](bool ok, std::int64_t) { answers.emplace_back(up, ok); });
  ASSERT_TRUE(run_until(loop, [&] { return answers.size() == 2; }));
  for (const auto& [room, ok] : answers)
    EXPECT_EQ(ok, room == up) << room;
  heard.ask = {down, up};
  heard.resynced.clear();
  r1.start();  // same port, empty
  ASSERT_TRUE(run_until(loop, [&] { return a.connected() && a.hears(down); }));
  ASSERT_TRUE(run_until(loop, [&] { return !heard.resynced.empty(); }));
  EXPECT_EQ(std::count(heard.resynced.begin(), heard.resynced.end(), up), 0);
  bool ok = false;
  a.append({down, 0, "ann", "back", 1}, [&](bool o, std::int64_t) { ok = o; });
  ASSERT_TRUE(run_until(loop, [&] { return ok; }));
}

// A conversation's message reaches the nodes of its two users, through the users' channels.
TEST_F(three_shards, AConversationReachesItsUsersNodes) {
  redis_store a(loop, shards()), b(loop, shards());
  hearing on_b;
  b.set_listener(&on_b);
  a.start();
  b.start();
  b.watch_user("bea", true);
  ASSERT_TRUE(run_until(loop, [&] { return a.connected() && b.hears_user("bea"); }));
  append_result got;
  a.append_once({"@ann\nbea", 0, "ann", "psst", 1, "c1", "ann"}, [&](append_result r) { got = r; });
  ASSERT_TRUE(run_until(loop, [&] { return got.ok && !on_b.got.empty(); }));
  EXPECT_EQ(on_b.got.back().room, "@ann\nbea");
  EXPECT_EQ(on_b.got.back().id, got.id);
  EXPECT_EQ(on_b.got.back().cid, "c1");
}

}  // namespace
}  // namespace duplex::chat
