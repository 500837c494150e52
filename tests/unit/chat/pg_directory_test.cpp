// The room directory in PostgreSQL as two nodes see it (two pg_directory on one database): what
// one writes the other reads, of two creating one name exactly one wins (also when they race),
// each change is announced to the other node and not to its author, and an unreachable server
// costs a bounded wait once, then fails at once, with pg_error only.
#include "src/pg_directory.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "src/pg_schema.hpp"
#include "support/loopback_listener.hpp"
#include "unit/chat/pg_support.hpp"

namespace duplex::chat {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr std::int64_t t0 = 1'700'000'000'000;

struct PgDirectory : ::testing::Test {
  void SetUp() override {
    pg = test::shared_pg();
    if (pg == nullptr) GTEST_SKIP() << test::pg_server::missing;
    db = pg->fresh_database();
    pg_migrate(pg->conninfo(db));
    // The test's own bounds: a shared machine may be slow to answer.
    a = std::make_unique<pg_directory>(pg->conninfo(db), 2s, 5s);
    b = std::make_unique<pg_directory>(pg->conninfo(db), 2s, 5s);
  }
  // Changes `on` is told of, once what another node did has arrived.
  static pg_directory::changes_t told(pg_directory& on, std::size_t at_least) {
    pg_directory::changes_t all;
    for (auto deadline = clock::now() + 5s; clock::now() < deadline;) {
      auto c = on.changes();
      all.complete = all.complete && c.complete;
      for (auto& x : c.list)
        all.list.push_back(std::move(x));
      if (all.list.size() >= at_least) break;
      std::this_thread::sleep_for(10ms);
    }
    return all;
  }
  test::pg_server* pg = nullptr;
  std::string db;
  std::unique_ptr<pg_directory> a, b;
};

TEST_F(PgDirectory, WhatOneNodeWritesTheOtherReads) {
  EXPECT_TRUE(a->create({"lobby", "Hello there", "ann", false, t0}));
  EXPECT_FALSE(b->create({"lobby", "mine now", "bob", true, t0 + 1}));
  auto rec = b->find("lobby");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->topic, "Hello there");
  EXPECT_EQ(rec->owner, "ann");
  EXPECT_FALSE(rec->invite_only);
  EXPECT_EQ(rec->created_ms, t0);
  rec->invite_only = true;
  rec->topic = "quiet";
  b->update(*rec);
  EXPECT_TRUE(a->find("lobby")->invite_only);
  EXPECT_FALSE(a->find("nowhere"));

  a->put_member("lobby", {"ann", "Ann", room_role::owner, 0});
  b->put_member("lobby", {"zed", "Zed", room_role::moderator, 0});
  b->put_member("lobby", {"bob", "Bob", room_role::member, t0 + 60'000});
  b->put_member("lobby", {"amy", "amy", room_role::member, 0});
  const auto m = a->members("lobby", 10);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].user, "ann");  // the owner, the moderators, then by name (bytes)
  EXPECT_EQ(m[1].user, "zed");
  EXPECT_EQ(m[2].name, "Bob");
  EXPECT_EQ(m[3].name, "amy");
  EXPECT_EQ(a->members("lobby", 2).size(), 2u);
  EXPECT_EQ(a->member("lobby", "bob")->muted_until_ms, t0 + 60'000);
  a->put_member("lobby", {"bob", "Bobby", room_role::moderator, 0});  // replaces
  EXPECT_EQ(b->member("lobby", "bob")->role, room_role::moderator);
  EXPECT_EQ(b->member("lobby", "bob")->name, "Bobby");
  EXPECT_EQ(b->member_count("lobby"), 4u);
  EXPECT_EQ(b->owned_by("ann"), 1u);
  EXPECT_EQ(b->owned_by("bob"), 0u);

  EXPECT_TRUE(b->create({"z-room", "", "", false, t0}));
  b->put_member("z-room", {"bob", "Bob", room_role::member, 0});
  EXPECT_EQ(a->rooms_of("bob"), (std::vector<std::string>{"lobby", "z-room"}));
  a->remove_member("lobby", "bob");
  EXPECT_FALSE(b->member("lobby", "bob"));
  EXPECT_EQ(b->rooms_of("bob"), (std::vector<std::string>{"z-room"}));
}

TEST_F(PgDirectory, BansAndInvitationsAreSharedAndGoWithTheRoom) {
  ASSERT_TRUE(a->create({"den", "", "ann", true, t0}));
  a->set_banned("den", "eve", true);
  a->set_banned("den", "eve", true);  // twice is once
  a->set_invited("den", "bob", true);
  EXPECT_TRUE(b->banned("den", "eve"));
  EXPECT_FALSE(b->banned("den", "bob"));
  EXPECT_TRUE(b->invited("den", "bob"));
  b->set_banned("den", "eve", false);
  b->set_invited("den", "bob", false);
  EXPECT_FALSE(a->banned("den", "eve"));
  EXPECT_FALSE(a->invited("den", "bob"));

  a->set_banned("den", "eve", true);
  a->put_member("den", {"ann", "Ann", room_role::owner, 0});
  b->remove_room("den");
  EXPECT_FALSE(a->find("den"));
  EXPECT_FALSE(a->banned("den", "eve"));
  EXPECT_FALSE(a->member("den", "ann"));
  EXPECT_TRUE(a->create({"den", "", "bob", false, t0}));  // the name is free again
  EXPECT_EQ(a->member_count("den"), 0u);
}

TEST_F(PgDirectory, SearchFoldsAsciiCaseOnlyAndTakesPatternCharactersLiterally) {
  a->create({"general", "All Things", "", false, t0});
  a->create({"news", "Général news", "", false, t0});
  a->create({"per_cent", "100%", "", false, t0});
  a->put_member("general", {"ann", "Ann", room_role::member, 0});
  auto names = [&](std::string_view q) {
    std::vector<std::string> out;
    for (const auto& e : b->search(q, 10))
      out.push_back(e.room.name);
    return out;
  };
  EXPECT_EQ(names("GEN"), (std::vector<std::string>{"general"}));
  EXPECT_EQ(names("things"), (std::vector<std::string>{"general"}));
  EXPECT_EQ(names("GÉN"), (std::vector<std::string>{})) << "É is not folded, as elsewhere";
  EXPECT_EQ(names("%"), (std::vector<std::string>{"per_cent"}));
  EXPECT_EQ(names("_"), (std::vector<std::string>{"per_cent"}));
  EXPECT_EQ(names("").size(), 3u);
  EXPECT_EQ(b->search("", 2).size(), 2u);
  EXPECT_EQ(b->search("general", 10).at(0).members, 1u);
}

// Two nodes creating the same names at the same moment: each name has exactly one creator.
TEST_F(PgDirectory, OfTwoNodesRacingForANameExactlyOneWins) {
  constexpr int names = 40;
  std::atomic<int> go{0};
  int won_a = 0, won_b = 0;
  auto race = [&](pg_directory& d, const std::string& owner, int& won) {
    ++go;
    while (go.load() < 2)
      std::this_thread::yield();
    for (int i = 0; i < names; ++i)
      if (d.create({"room-" + std::to_string(i), "", owner, false, t0})) ++won;
  };
  std::thread ta([&] { race(*a, "ann", won_a); });
  std::thread tb([&] { race(*b, "bob", won_b); });
  ta.join();
  tb.join();
  EXPECT_EQ(won_a + won_b, names);
  EXPECT_EQ(a->owned_by("ann"), static_cast<std::size_t>(won_a));
  EXPECT_EQ(a->owned_by("bob"), static_cast<std::size_t>(won_b));
}

TEST_F(PgDirectory, EachChangeIsToldToTheOtherNodeNotToItsAuthor) {
  // A new connection may have missed changes: the first answer says so.
  EXPECT_FALSE(b->changes().complete);
  EXPECT_FALSE(a->changes().complete);
  ASSERT_TRUE(a->create({"den", "", "ann", false, t0}));
  a->put_member("den", {"bob", "Bob", room_role::moderator, 0});
  a->set_banned("den", "eve", true);
  a->set_invited("den", "joe", true);
  a->remove_member("den", "bob");
  const auto seen = told(*b, 5);
  EXPECT_TRUE(seen.complete);
  ASSERT_EQ(seen.list.size(), 5u);
  EXPECT_EQ(seen.list[0].room, "den");
  EXPECT_EQ(seen.list[0].user, "");
  EXPECT_EQ(seen.list[1].user, "bob");
  EXPECT_EQ(seen.list[2].user, "eve");
  EXPECT_EQ(seen.list[3].user, "joe");
  EXPECT_EQ(seen.list[4].user, "bob");
  const auto own = a->changes();
  EXPECT_TRUE(own.complete);
  EXPECT_TRUE(own.list.empty()) << "the author knows its own changes";
  b->remove_room("den");  // the row and, through the cascade, the ban and the invitation
  EXPECT_EQ(told(*a, 3).list.size(), 3u);
}

// Unreachable, then silent: the first call waits its bound at most, the next fails at once, and
// only pg_error comes out, which the hub answers with store_failed.
TEST(PgDirectoryDown, FailsWithinItsBoundsThenAtOnce) {
  test::loopback_listener silent;  // accepts (the backlog) and says nothing
  pg_directory d("host=127.0.0.1 port=" + std::to_string(silent.port()) + " user=x dbname=x", 300ms,
                 200ms);
  auto t = clock::now();
  EXPECT_THROW(d.find("lobby"), pg_error);
  EXPECT_LT(clock::now() - t, 1s);
  t = clock::now();
  EXPECT_THROW(d.create({"lobby", "", "ann", false, t0}), pg_error);
  EXPECT_THROW(d.changes(), pg_error);
  EXPECT_LT(clock::now() - t, 50ms);
}

}  // namespace
}  // namespace duplex::chat
