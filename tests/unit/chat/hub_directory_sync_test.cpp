// Two nodes sharing one room directory (as --pg nodes share PostgreSQL's): what one node's
// owner does to a user whose session is on the other reaches that session once the other node
// is told of the change (hub::room_changed; directory_follow queues the calls, and every
// (room, user) held when changes were missed).
#include <gtest/gtest.h>

#include "chat_support.hpp"
#include "src/directory_follow.hpp"

namespace duplex::chat::test {
namespace {

std::string error_code(const recording_session& s) {
  const auto errors = s.of("error");
  return errors.empty() ? "" : errors.back()["code"].get<std::string>();
}

chat_fixture::user sign_in(chat_fixture& fx, const std::string& name) {
  auto u = fx.connect(name);
  fx.send(u, {{"type", "hello"}});
  return u;
}

json act(const std::string& type, const std::string& room, const std::string& user) {
  return {{"type", type}, {"room", room}, {"user", user}};
}

json join(const std::string& room) {
  return {{"type", "join"}, {"room", room}};
}

struct SharedDirectory : ::testing::Test {
  void SetUp() override {
    a.share_rooms(rooms);
    b.share_rooms(rooms);
    alice = sign_in(a, "alice");
    a.send(alice, {{"type", "create"}, {"room", "team"}, {"topic", ""}});
    bob = sign_in(b, "bob");
    b.send(bob, join("team"));
    carol = sign_in(b, "carol");
    b.send(carol, join("team"));
    b.pump();
  }
  memory_directory rooms;
  chat_fixture a, b;  // two nodes
  chat_fixture::user alice{}, bob{}, carol{};
};

TEST_F(SharedDirectory, ARoomCreatedOnOneNodeIsOwnedOnTheOther) {
  const json joined = bob.s->of("joined").at(0);
  EXPECT_EQ(joined["owner"], "alice");
  EXPECT_EQ(joined["role"], "member");
  b.send(bob, {{"type", "create"}, {"room", "team"}, {"topic", "mine"}});
  EXPECT_EQ(error_code(*bob.s), "room_exists");
}

TEST_F(SharedDirectory, ABanOnOneNodeTakesTheUserOutOnTheOtherAndKeepsItOut) {
  a.send(alice, act("ban", "team", "bob"));
  EXPECT_TRUE(bob.s->of("left").empty()) << "not before its node is told";
  EXPECT_TRUE(b.the_hub().room_changed("team", "bob"));
  ASSERT_EQ(bob.s->of("left").size(), 1u);
  EXPECT_EQ(bob.s->of("left").at(0)["reason"], "banned");
  const auto gone = carol.s->of("presence");
  ASSERT_FALSE(gone.empty());
  EXPECT_EQ(gone.back()["nick"], "bob");
  EXPECT_EQ(gone.back()["event"], "leave");
  b.say(bob, "team", "still here?");
  EXPECT_EQ(error_code(*bob.s), "not_joined");
  b.send(bob, join("team"));
  EXPECT_EQ(error_code(*bob.s), "banned");
  // Told twice, or of a user no longer here: nothing more happens.
  EXPECT_TRUE(b.the_hub().room_changed("team", "bob"));
  EXPECT_EQ(bob.s->of("left").size(), 1u);
}

TEST_F(SharedDirectory, AKickElsewhereIsALeaveHereAndCarolStays) {
  a.send(alice, act("kick", "team", "bob"));
  EXPECT_TRUE(b.the_hub().room_changed("team", "bob"));
  EXPECT_TRUE(b.the_hub().room_changed("team", "carol"));
  ASSERT_EQ(bob.s->of("left").size(), 1u);
  EXPECT_FALSE(bob.s->of("left").at(0).contains("reason"));
  EXPECT_TRUE(carol.s->of("left").empty());
  b.send(bob, join("team"));  // a kick is no ban
  EXPECT_EQ(bob.s->of("joined").size(), 2u);
}

TEST_F(SharedDirectory, ARoleGrantedOnOneNodeLetsTheUserModerateOnTheOther) {
  b.send(bob, act("kick", "team", "carol"));
  EXPECT_EQ(error_code(*bob.s), "forbidden");
  a.send(alice, {{"type", "promote"}, {"room", "team"}, {"user", "bob"}, {"role", "moderator"}});
  const std::size_t described = carol.s->of("room").size();
  EXPECT_TRUE(b.the_hub().room_changed("team", "bob"));
  ASSERT_EQ(carol.s->of("room").size(), described + 1) << "the room's new description";
  EXPECT_EQ(carol.s->of("room").back()["moderators"], json({"bob"}));
  b.send(bob, act("kick", "team", "carol"));
  EXPECT_EQ(carol.s->of("left").size(), 1u);
}

TEST_F(SharedDirectory, AMuteOnOneNodeSilencesTheUserOnTheOther) {
  a.send(alice, {{"type", "mute"}, {"room", "team"}, {"user", "bob"}, {"seconds", 60}});
  EXPECT_TRUE(b.the_hub().room_changed("team", "bob"));
  EXPECT_EQ(bob.s->of("muted").size(), 1u);
  b.say(bob, "team", "hello?");
  EXPECT_EQ(error_code(*bob.s), "muted");
}

TEST_F(SharedDirectory, AnInvitationOnOneNodeLetsTheUserJoinOnTheOther) {
  a.send(alice, {{"type", "create"}, {"room", "den"}, {"topic", ""}, {"invite_only", true}});
  b.send(bob, join("den"));
  EXPECT_EQ(error_code(*bob.s), "invite_only");
  // The accounts (shared too) know bob, who is online on the other node only.
  a.the_hub().set_directory(
      {[](std::string_view key) -> std::optional<std::string> { return std::string(key); }, {}});
  a.send(alice, act("invite", "den", "bob"));
  EXPECT_EQ(alice.s->of("done").back()["request"], "invite");
  b.send(bob, join("den"));
  EXPECT_EQ(bob.s->of("joined").back()["room"], "den");
}

TEST_F(SharedDirectory, ABannedModeratorCannotModerateWhateverRoleRowARaceLeft) {
  a.send(alice, {{"type", "promote"}, {"room", "team"}, {"user", "bob"}, {"role", "moderator"}});
  rooms.set_banned("team", "bob", true);  // another node's ban, its membership removal lost
  b.send(bob, act("kick", "team", "carol"));
  EXPECT_EQ(error_code(*bob.s), "forbidden");
  EXPECT_TRUE(carol.s->of("left").empty());
}

TEST_F(SharedDirectory, AGuestLeavesARoomMadeInviteOnlyOnAnotherNode) {
  auto gus = b.named("gus");
  b.send(gus, join("den"));
  b.pump();
  ASSERT_EQ(gus.s->of("joined").size(), 1u);
  a.send(alice, {{"type", "create"}, {"room", "den"}, {"topic", ""}, {"invite_only", true}});
  EXPECT_TRUE(b.the_hub().room_changed("den", ""));
  ASSERT_EQ(gus.s->of("left").size(), 1u);
  b.send(gus, join("den"));
  EXPECT_EQ(error_code(*gus.s), "invite_only");
}

TEST_F(SharedDirectory, MissedChangesAreFoundByCheckingEveryRoomHere) {
  a.send(alice, act("ban", "team", "bob"));
  a.send(alice, act("kick", "team", "carol"));
  directory_follow follow;
  hub& h = b.the_hub();
  follow.changed({}, false, [&h] { return h.directory_holds(); });
  EXPECT_EQ(follow.pending(), 3u) << "bob and carol in team, and team's description once";
  follow.work(h, std::chrono::seconds(5));
  EXPECT_EQ(follow.pending(), 0u);
  EXPECT_EQ(bob.s->of("left").at(0)["reason"], "banned");
  EXPECT_EQ(carol.s->of("left").size(), 1u);
  EXPECT_EQ(b.the_hub().rooms(), 0u);
}

TEST_F(SharedDirectory, AChangeReportedTwiceIsFollowedOnceAndTheBudgetEndsARound) {
  a.send(alice, act("ban", "team", "bob"));
  directory_follow follow;
  hub& h = b.the_hub();
  const auto holds = [&h] { return h.directory_holds(); };
  follow.changed({{"team", "bob"}, {"team", "bob"}, {"team", ""}}, true, holds);
  EXPECT_EQ(follow.pending(), 2u);
  const std::size_t described = carol.s->of("room").size();
  follow.work(h, std::chrono::steady_clock::duration::zero());  // one check, then out of time
  EXPECT_EQ(follow.pending(), 1u);
  EXPECT_EQ(bob.s->of("left").size(), 1u);
  EXPECT_EQ(carol.s->of("room").size(), described) << "the description waits for the next round";
  follow.work(h, std::chrono::steady_clock::duration::zero());
  EXPECT_EQ(follow.pending(), 0u);
  EXPECT_EQ(carol.s->of("room").size(), described + 1) << "once, for both reports";
}

TEST_F(SharedDirectory, AFloodOfChangesLeavesOnlyWhatIsHeldQueued) {
  directory_follow follow;
  hub& h = b.the_hub();
  std::vector<directory_follow::key> flood;
  for (std::size_t i = 0; i < directory_follow::max_pending; ++i)
    flood.emplace_back("room" + std::to_string(i), "someone");
  follow.changed(flood, true, [&h] { return h.directory_holds(); });
  EXPECT_EQ(follow.pending(), 3u) << "bob and carol in team, and team's description";
}

}  // namespace
}  // namespace duplex::chat::test
