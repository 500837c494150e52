// redis_link and redis_store against a real redis-server: commands, pub/sub, reconnection
// after Redis restarts, and the chat's history shared by two stores (two nodes), all driven by
// a duplex event loop.
#include "src/redis_link.hpp"
#include "src/redis_store.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <functional>
#include <limits>
#include <map>

#include "support/redis_server.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;

// Runs the loop until `done` holds or the time is up; returns whether it held.
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

TEST(RedisUrl, ParsesHostAndPort) {
  EXPECT_EQ(parse_redis_url("redis://127.0.0.1:6380").port, 6380);
  EXPECT_EQ(parse_redis_url("redis://localhost").host, "localhost");
  EXPECT_EQ(parse_redis_url("redis://localhost").port, 6379);
  EXPECT_THROW(parse_redis_url("http://x"), std::invalid_argument);
  EXPECT_THROW(parse_redis_url("redis://x:0"), std::invalid_argument);
  EXPECT_THROW(parse_redis_url("redis://x:70000"), std::invalid_argument);
  EXPECT_THROW(parse_redis_url("redis://:6379"), std::invalid_argument);
}

TEST(RedisLink, CommandsGetTheirRepliesInOrder) {
  test::redis_server redis;
  net::event_loop loop;
  redis_link link(loop, at(redis.port()));
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::vector<std::string> got;
  ASSERT_TRUE(link.command({"SET", "k", std::string("v\0x", 3)}, [](const redisReply*) {}));
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(link.command({"INCR", "n"}, [&](const redisReply* r) {
      ASSERT_NE(r, nullptr);
      got.push_back(std::to_string(r->integer));
    }));
  ASSERT_TRUE(link.command({"GET", "k"}, [&](const redisReply* r) {
    ASSERT_NE(r, nullptr);
    got.emplace_back(r->str, r->len);  // binary-safe: the NUL survives
  }));
  ASSERT_TRUE(run_until(loop, [&] { return got.size() == 51; }));
  EXPECT_EQ(got.front(), "1");
  EXPECT_EQ(got[49], "50");
  EXPECT_EQ(got.back(), std::string("v\0x", 3));
}

TEST(RedisLink, SubscriberReceivesWhatAnotherLinkPublishes) {
  test::redis_server redis;
  net::event_loop loop;
  redis_link pub(loop, at(redis.port()));
  redis_link sub(loop, at(redis.port()));
  std::vector<std::string> got;
  sub.subscribe({"room:a"}, [&](std::string_view ch, std::string_view msg) {
    if (msg != "hello") got.push_back(std::string(ch) + "=" + std::string(msg));
  });
  pub.start();
  sub.start();
  ASSERT_TRUE(run_until(loop, [&] { return pub.connected() && sub.connected(); }));
  // The SUBSCRIBE is in flight: publish until one lands, then a burst that must arrive in order.
  long receivers = 0;
  ASSERT_TRUE(run_until(loop, [&] {
    pub.command({"PUBLISH", "room:a", "hello"}, [&](const redisReply* r) {
      if (r) receivers = std::max(receivers, static_cast<long>(r->integer));
    });
    return receivers > 0;
  }));
  for (int i = 0; i < 100; ++i)
    pub.command({"PUBLISH", "room:a", std::to_string(i)}, nullptr);
  pub.command({"PUBLISH", "room:b", "elsewhere"}, nullptr);
  ASSERT_TRUE(run_until(loop, [&] { return got.size() >= 100; }));
  run_until(
      loop, [] { return false; }, 50ms);  // nothing from room:b may follow
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(got[static_cast<std::size_t>(i)], "room:a=" + std::to_string(i));
}

TEST(RedisLink, RefusesWhileDownAndComesBackWhenRedisRestarts) {
  test::redis_server redis;
  net::event_loop loop;
  redis_link link(loop, at(redis.port()));
  std::vector<bool> states;
  link.on_state = [&](bool up) { states.push_back(up); };
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  bool answered_null = false;
  // A reply still owed when Redis dies is answered with null, not forgotten.
  ASSERT_TRUE(link.command({"BLPOP", "nothing", "10"},
                           [&](const redisReply* r) { answered_null = r == nullptr; }));
  redis.stop();
  ASSERT_TRUE(run_until(loop, [&] { return !link.connected(); }));
  EXPECT_TRUE(answered_null);
  EXPECT_FALSE(link.command({"PING"}, [](const redisReply*) {}));
  // Down for a while: reconnection attempts back off and keep going.
  run_until(
      loop, [] { return false; }, 300ms);
  redis.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::string pong;
  ASSERT_TRUE(link.command({"PING"}, [&](const redisReply* r) {
    if (r) pong.assign(r->str, r->len);
  }));
  ASSERT_TRUE(run_until(loop, [&] { return !pong.empty(); }));
  EXPECT_EQ(pong, "PONG");
  EXPECT_EQ(states, (std::vector<bool>{true, false, true}));
}

TEST(RedisLink, StartsWithRedisDownAndConnectsWhenItAppears) {
  test::redis_server redis;
  redis.stop();
  net::event_loop loop;
  redis_link link(loop, at(redis.port()));
  link.start();
  run_until(
      loop, [] { return false; }, 200ms);
  EXPECT_FALSE(link.connected());
  redis.start();
  EXPECT_TRUE(run_until(loop, [&] { return link.connected(); }));
}

TEST(RedisStore, IdsAreSharedAndEveryNodeHearsEachMessageInOrder) {
  test::redis_server redis;
  net::event_loop loop;
  struct hearing final : store_listener {
    std::vector<std::int64_t> ids;
    void on_message(const stored_message& m) override {
      if (m.room == "lobby") ids.push_back(m.id);
    }
    void on_resync() override {}
    void on_presence(const std::string&, const std::string&, bool) override {}
  } listener;
  const auto& heard_by_two = listener.ids;
  redis_store one(loop, at(redis.port()));
  redis_store two(loop, at(redis.port()));
  two.set_listener(&listener);
  one.start();
  two.start();
  two.set_presence("lobby", "bob", true);  // a member there: node two listens to the room
  ASSERT_TRUE(run_until(loop, [&] { return one.connected() && two.hears("lobby"); }));
  std::vector<std::int64_t> acked;
  for (int i = 0; i < 10; ++i) {
    redis_store& via = i % 2 ? two : one;
    via.append({"lobby", 0, i % 2 ? "bob" : "alice", "m" + std::to_string(i), 1000 + i},
               [&](bool ok, std::int64_t id) {
                 EXPECT_TRUE(ok);
                 acked.push_back(id);
               });
  }
  ASSERT_TRUE(run_until(loop, [&] { return acked.size() == 10 && heard_by_two.size() == 10; }));
  std::sort(acked.begin(), acked.end());
  const std::vector<std::int64_t> want{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(acked, want);
  EXPECT_EQ(heard_by_two, want);
}

// Client ids in the append's script: a resend through either node is the first message's id,
// nothing is published twice, and an author's list of cids is bounded.
TEST(RedisStore, ACidIsStoredOnceWhicheverNodeItComesThrough) {
  test::redis_server redis;
  net::event_loop loop;
  redis_store one(loop, at(redis.port()));
  redis_store two(loop, at(redis.port()));
  one.start();
  two.start();
  ASSERT_TRUE(run_until(loop, [&] { return one.connected() && two.connected(); }));
  std::map<std::string, append_result> by;  // two connections: answers in either order
  auto as = [&](std::string label) { return [&by, label](append_result a) { by[label] = a; }; };
  one.append_once({"r", 0, "ada", "hello", 1, "k1", "ada"}, as("first"));
  ASSERT_TRUE(run_until(loop, [&] { return by.size() == 1; }));
  two.append_once({"r", 0, "ada", "hello", 1, "k1", "ada"}, as("resend"));  // elsewhere
  two.append_once({"r", 0, "bob", "his", 1, "k1", "bob"}, as("bob"));       // another author
  one.append_once({"@a\nb", 0, "ada", "dm", 1, "k1", "ada"}, as("dm"));     // another feed
  ASSERT_TRUE(run_until(loop, [&] { return by.size() == 4; }));
  EXPECT_TRUE(by["first"].ok && !by["first"].duplicate);
  EXPECT_TRUE(by["resend"].ok && by["resend"].duplicate);
  EXPECT_EQ(by["resend"].id, by["first"].id);
  EXPECT_FALSE(by["bob"].duplicate);
  EXPECT_EQ(by["bob"].id, by["first"].id + 1);
  EXPECT_FALSE(by["dm"].duplicate);
  std::vector<append_result> got;
  auto keep = [&](append_result a) { got.push_back(a); };
  std::vector<stored_message> read;
  bool answered = false;
  one.range("r", 0, std::numeric_limits<std::int64_t>::max(), 100,
            [&](bool ok, std::vector<stored_message> m) {
              answered = ok;
              read = std::move(m);
            });
  ASSERT_TRUE(run_until(loop, [&] { return answered; }));
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].cid, "k1");
  // The bound: past max_sent_cids in a feed, an author's oldest cid there is forgotten.
  for (std::size_t i = 0; i < store::max_sent_cids; ++i)
    one.append_once({"r", 0, "ada", "x", 1, "b" + std::to_string(i), "ada"}, keep);
  one.append_once({"r", 0, "ada", "hello", 1, "k1", "ada"}, keep);
  ASSERT_TRUE(run_until(loop, [&] { return got.size() == store::max_sent_cids + 1; }));
  EXPECT_FALSE(got.back().duplicate);
}

TEST(RedisStore, ReadsHistoryTheWayTheHubAsks) {
  test::redis_server redis;
  net::event_loop loop;
  redis_store store(loop, at(redis.port()));
  store.start();
  ASSERT_TRUE(run_until(loop, [&] { return store.connected(); }));
  int stored = 0;
  for (int i = 1; i <= 5; ++i)
    store.append({"r", 0, "ada", "text " + std::to_string(i), 42},
                 [&](bool, std::int64_t) { ++stored; });
  store.append({"other", 0, "ada", "elsewhere", 42}, [&](bool, std::int64_t) { ++stored; });
  ASSERT_TRUE(run_until(loop, [&] { return stored == 6; }));

  std::map<std::string, std::string> results;  // some answers come at once, some later
  auto texts = [&](std::string label) {
    return [&results, label](bool ok, std::vector<stored_message> ms) {
      std::string s = ok ? "" : "failed";
      for (auto& m : ms)
        s += std::to_string(m.id) + ":" + m.text + "," + m.nick + ";";
      results[label] = s;
    };
  };
  auto id = [&](std::string label) {
    return [&results, label](bool ok, std::int64_t v) {
      results[label] = ok ? std::to_string(v) : "failed";
    };
  };
  store.before("r", 5, 2, texts("before 5"));
  store.range("r", 1, 3, 100, texts("range 1..3"));
  store.range("r", 3, std::numeric_limits<std::int64_t>::max(), 100, texts("after 3"));
  store.before("r", 1, 10, texts("before 1"));
  store.last_id("r", id("last r"));
  store.last_id("never", id("last never"));
  store.rooms([&](bool ok, std::vector<std::string> names) {
    std::string s = ok ? "" : "failed";
    for (auto& n : names)
      s += n + ";";
    results["rooms"] = s;
  });
  ASSERT_TRUE(run_until(loop, [&] { return results.size() == 7; }));
  EXPECT_EQ(results["before 5"], "3:text 3,ada;4:text 4,ada;");
  EXPECT_EQ(results["range 1..3"], "2:text 2,ada;3:text 3,ada;");
  EXPECT_EQ(results["after 3"], "4:text 4,ada;5:text 5,ada;");
  EXPECT_EQ(results["before 1"], "");
  EXPECT_EQ(results["last r"], "5");
  EXPECT_EQ(results["last never"], "0");
  EXPECT_EQ(results["rooms"], "other;r;");
}

TEST(RedisStore, EveryCallFailsClearlyWhileRedisIsDown) {
  test::redis_server redis;
  redis.stop();
  net::event_loop loop;
  redis_store store(loop, at(redis.port()));
  store.start();
  int failed = 0;
  store.append({"r", 0, "ada", "lost?", 1}, [&](bool ok, std::int64_t) { failed += !ok; });
  store.range("r", 0, 10, 10, [&](bool ok, std::vector<stored_message>) { failed += !ok; });
  store.last_id("r", [&](bool ok, std::int64_t) { failed += !ok; });
  store.rooms([&](bool ok, std::vector<std::string>) { failed += !ok; });
  EXPECT_EQ(failed, 4);  // at once, not after a timeout
}

TEST(RedisStore, StopsSweepingRoomsNobodyIsIn) {
  test::redis_server redis;
  net::event_loop loop;
  redis_store store(loop, at(redis.port()), 10'000, 150ms);  // sweeps every 50 ms
  store.start();
  ASSERT_TRUE(run_until(loop, [&] { return store.connected(); }));
  for (int i = 0; i < 50; ++i) {  // a client walking through rooms: join, leave
    store.set_presence("room" + std::to_string(i), "ada", true);
    store.set_presence("room" + std::to_string(i), "ada", false);
  }
  store.set_presence("kept", "bob", true);
  EXPECT_EQ(store.watched_rooms(), 51u);
  EXPECT_TRUE(run_until(
      loop, [&] { return store.watched_rooms() == 1; }, 2000ms))
      << store.watched_rooms() << " rooms still swept";
}

TEST(RedisLink, RefusesCommandsPastTheAnswersItIsOwed) {
  test::redis_server redis;
  net::event_loop loop;
  redis_link link(loop, at(redis.port()));
  link.start();
  ASSERT_TRUE(run_until(loop, [&] { return link.connected(); }));
  std::size_t answered = 0;
  // Issued without running the loop: none is answered yet, as with a Redis that stalls.
  for (std::size_t i = 0; i < redis_link::max_in_flight; ++i)
    ASSERT_TRUE(link.command({"PING"}, [&](const redisReply*) { ++answered; }));
  EXPECT_FALSE(link.command({"PING"}, nullptr));
  EXPECT_TRUE(run_until(
      loop, [&] { return answered == redis_link::max_in_flight; }, 10000ms));
  EXPECT_EQ(link.in_flight(), 0u);
  EXPECT_TRUE(link.command({"PING"}, nullptr));
}

}  // namespace
}  // namespace duplex::chat
