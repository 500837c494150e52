// Rooms as issue 11 asks for them: stored membership that outlives a tab, a directory, owners
// and moderators whose every action the hub checks, and the hostile requests they invite.
#include <gtest/gtest.h>

#include "chat_support.hpp"

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

json create(const std::string& room, const std::string& topic, bool invite_only = false) {
  return {{"type", "create"}, {"room", room}, {"topic", topic}, {"invite_only", invite_only}};
}

json act(const std::string& type, const std::string& room, const std::string& user) {
  return {{"type", type}, {"room", room}, {"user", user}};
}

json join(const std::string& room) {
  return {{"type", "join"}, {"room", room}};
}

TEST(Rooms, ACreatedRoomHasItsOwnerAndTopicAndIsFoundInTheDirectory) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("Team", "weekly plans"));
  ASSERT_EQ(alice.s->of("created").size(), 1u);
  const json joined = alice.s->of("joined").at(0);
  EXPECT_EQ(joined["room"], "team");
  EXPECT_EQ(joined["topic"], "weekly plans");
  EXPECT_EQ(joined["owner"], "alice");
  EXPECT_EQ(joined["role"], "owner");
  EXPECT_EQ(joined["count"], 1);
  auto bob = sign_in(fx, "bob");
  fx.send(bob, {{"type", "rooms"}, {"q", "PLANS"}});
  const json list = bob.s->last()["rooms"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "team");
  EXPECT_EQ(list[0]["topic"], "weekly plans");
  EXPECT_EQ(list[0]["members"], 1);
  fx.send(bob, {{"type", "rooms"}, {"q", "nothing-like-it"}});
  EXPECT_TRUE(bob.s->last()["rooms"].empty());
  fx.send(bob, create("team", "mine now"));
  EXPECT_EQ(error_code(*bob.s), "room_exists");
}

TEST(Rooms, GuestsCannotOwnRoomsButStillJoinOpenOnes) {
  chat_fixture fx;
  auto guest = fx.named("gus");
  fx.send(guest, create("lair", ""));
  EXPECT_EQ(error_code(*guest.s), "sign_in_required");
  fx.send(guest, join("lair"));
  EXPECT_EQ(guest.s->of("joined").size(), 1u);
  EXPECT_FALSE(guest.s->of("joined").at(0).contains("owner"));  // nobody owns it
}

TEST(Rooms, MembershipIsTheUsersAndAReconnectIsNoJoin) {
  chat_fixture fx;
  auto bob = sign_in(fx, "bob");
  fx.send(bob, join("r"));
  auto alice = sign_in(fx, "alice");
  fx.send(alice, join("r"));
  ASSERT_EQ(bob.s->of("presence").size(), 1u);  // a real join
  fx.the_hub().detach(alice.id);                // the tab closes
  auto again = sign_in(fx, "alice");
  EXPECT_EQ(again.s->of("welcome").at(0)["rooms"], json({"r"}));
  fx.send(again, join("r"));
  EXPECT_EQ(again.s->of("joined").size(), 1u);
  EXPECT_EQ(bob.s->of("presence").size(), 1u);  // no "left", no second "joined"
  EXPECT_EQ(again.s->of("joined").at(0)["members"], json({"alice", "bob"}));
}

TEST(Rooms, ARealLeaveIsAnnouncedOnceAndTheLastLeaveKeepsTheHistory) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, join("r"));
  fx.say(alice, "r", "for the record");
  fx.pump();
  fx.send(alice, {{"type", "leave"}, {"room", "r"}});
  EXPECT_EQ(alice.s->of("left").size(), 1u);
  auto welcome_again = sign_in(fx, "alice");
  EXPECT_FALSE(welcome_again.s->of("welcome").at(0).contains("rooms"));
  auto bob = sign_in(fx, "bob");
  fx.send(bob, join("r"));
  const auto history = bob.s->of("history");
  ASSERT_EQ(history.size(), 1u);
  ASSERT_EQ(history[0]["messages"].size(), 1u);
  EXPECT_EQ(history[0]["messages"][0]["text"], "for the record");
}

// Joins of new names and leaves must not fill the directory with rooms nobody owns or is in.
TEST(Rooms, AnOwnerlessRoomLeftEmptyIsForgotten) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  for (int i = 0; i < 5; ++i) {
    const std::string name = "tmp" + std::to_string(i);
    fx.send(alice, join(name));
    fx.send(alice, {{"type", "leave"}, {"room", name}});
  }
  fx.send(alice, {{"type", "rooms"}});
  EXPECT_TRUE(alice.s->last()["rooms"].empty()) << alice.s->last().dump();
}

TEST(Rooms, ForgedModerationIsRefusedAndChangesNothing) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", "plans"));
  auto bob = sign_in(fx, "bob");
  fx.send(bob, join("team"));
  fx.say(alice, "team", "keep me");
  fx.pump();
  const std::size_t presence = alice.s->of("presence").size();
  const std::size_t described = alice.s->of("room").size();
  for (const auto& forged :
       {act("kick", "team", "alice"), act("ban", "team", "alice"), act("invite", "team", "bob"),
        json{{"type", "delete"}, {"room", "team"}, {"id", 1}},
        json{{"type", "topic"}, {"room", "team"}, {"topic", "bob's now"}},
        json{{"type", "promote"}, {"room", "team"}, {"user", "bob"}, {"role", "moderator"}},
        json{{"type", "mute"}, {"room", "team"}, {"user", "alice"}, {"seconds", 60}}}) {
    fx.send(bob, forged);
    fx.pump();
    EXPECT_EQ(error_code(*bob.s), "forbidden") << forged.dump();
  }
  EXPECT_EQ(alice.s->of("presence").size(), presence);
  EXPECT_TRUE(alice.s->of("deleted").empty());
  EXPECT_EQ(alice.s->of("room").size(), described);
  fx.send(bob, {{"type", "history"}, {"room", "team"}});
  EXPECT_EQ(bob.s->last()["messages"].size(), 1u);
}

TEST(Rooms, ABannedUserIsRemovedFromEveryTabAndCannotRejoinUntilUnbanned) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", ""));
  auto bob = sign_in(fx, "bob");
  auto bob2 = sign_in(fx, "bob");
  fx.send(bob, join("team"));
  fx.send(bob2, join("team"));
  fx.send(alice, act("ban", "team", "BOB"));
  for (auto* s : {bob.s, bob2.s}) {
    ASSERT_EQ(s->of("left").size(), 1u);
    EXPECT_EQ(s->of("left").at(0)["reason"], "banned");
    EXPECT_EQ(s->of("left").at(0)["by"], "alice");
  }
  const json line = alice.s->of("presence").back();
  EXPECT_EQ(line["event"], "leave");
  EXPECT_EQ(line["reason"], "banned");
  fx.say(bob, "team", "still here?");
  EXPECT_EQ(error_code(*bob.s), "not_joined");
  fx.send(bob, join("team"));
  EXPECT_EQ(error_code(*bob.s), "banned");
  auto bob3 = sign_in(fx, "bob");  // a new tab is no way around it
  EXPECT_FALSE(bob3.s->of("welcome").at(0).contains("rooms"));
  fx.send(bob3, join("team"));
  EXPECT_EQ(error_code(*bob3.s), "banned");
  fx.send(alice, act("unban", "team", "bob"));
  EXPECT_EQ(alice.s->last()["type"], "done");
  fx.send(bob3, join("team"));
  EXPECT_EQ(bob3.s->of("joined").size(), 1u);
}

TEST(Rooms, AGuestCanBeBannedByName) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", ""));
  auto gus = fx.named("gus");
  fx.send(gus, join("team"));
  fx.send(alice, act("ban", "team", "gus"));
  EXPECT_EQ(gus.s->of("left").size(), 1u);
  fx.send(gus, join("team"));
  EXPECT_EQ(error_code(*gus.s), "banned");
}

TEST(Rooms, NobodyKicksTheOwnerAndModeratorsDoNotKickEachOther) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", ""));
  auto bob = sign_in(fx, "bob");
  auto carol = sign_in(fx, "carol");
  fx.send(bob, join("team"));
  fx.send(carol, join("team"));
  fx.send(alice, {{"type", "promote"}, {"room", "team"}, {"user", "bob"}, {"role", "moderator"}});
  fx.send(alice, {{"type", "promote"}, {"room", "team"}, {"user", "carol"}, {"role", "moderator"}});
  EXPECT_EQ(alice.s->of("room").back()["moderators"], json({"bob", "carol"}));
  fx.send(bob, act("kick", "team", "alice"));
  EXPECT_EQ(error_code(*bob.s), "forbidden");
  fx.send(bob, act("kick", "team", "carol"));
  EXPECT_EQ(error_code(*bob.s), "forbidden");
  fx.send(alice, act("kick", "team", "alice"));
  EXPECT_EQ(error_code(*alice.s), "invalid_target");
  fx.send(bob, {{"type", "promote"}, {"room", "team"}, {"user", "carol"}, {"role", "member"}});
  EXPECT_EQ(error_code(*bob.s), "forbidden");  // promoting is the owner's
  fx.send(alice, {{"type", "promote"}, {"room", "team"}, {"user", "carol"}, {"role", "member"}});
  fx.send(bob, act("kick", "team", "carol"));
  EXPECT_EQ(carol.s->of("left").at(0)["reason"], "kicked");
  fx.send(carol, join("team"));  // a kick is no ban
  EXPECT_EQ(carol.s->of("joined").size(), 2u);
}

TEST(Rooms, HostileRequestsGetClearErrors) {
  hub_limits limits = relaxed();
  chat_fixture fx(limits);
  auto alice = sign_in(fx, "alice");
  fx.send(alice, act("kick", "nowhere", "bob"));
  EXPECT_EQ(error_code(*alice.s), "no_such_room");
  for (const char* bad :
       {"", "a b", "x/../y", "#general", "ÄÖ", "waaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay-too-long"}) {
    fx.send(alice, act("kick", bad, "bob"));
    EXPECT_EQ(error_code(*alice.s), "invalid_room") << bad;
    fx.send(alice, create(bad, ""));
    EXPECT_EQ(error_code(*alice.s), "invalid_room") << bad;
  }
  fx.send(alice, create("huge", std::string(257, 't')));
  EXPECT_EQ(error_code(*alice.s), "invalid_topic");
  fx.send(alice, create("huge", "two\nlines"));
  EXPECT_EQ(error_code(*alice.s), "invalid_topic");
  fx.send(alice, create("team", std::string(256, 't')));
  EXPECT_EQ(alice.s->of("created").size(), 1u);
  fx.send(alice, {{"type", "topic"}, {"room", "team"}, {"topic", std::string(100000, 'x')}});
  EXPECT_EQ(error_code(*alice.s), "invalid_topic");
  fx.send(alice, act("kick", "team", ""));
  EXPECT_EQ(error_code(*alice.s), "invalid_user");
  fx.send(alice, act("kick", "team", "nobody"));
  EXPECT_EQ(error_code(*alice.s), "not_member");
  fx.send(alice, {{"type", "delete"}, {"room", "team"}, {"id", "1"}});
  EXPECT_EQ(error_code(*alice.s), "invalid_id");
  fx.send(alice, {{"type", "delete"}, {"room", "team"}, {"id", 99}});
  fx.pump();
  EXPECT_EQ(error_code(*alice.s), "no_such_message");
  fx.send(alice, {{"type", "mute"}, {"room", "team"}, {"user", "nobody"}, {"seconds", -5}});
  EXPECT_EQ(error_code(*alice.s), "not_member");
  fx.send(alice, {{"type", "rooms"}, {"q", std::string(65, 'q')}});
  EXPECT_EQ(error_code(*alice.s), "invalid_query");
}

TEST(Rooms, ADeletionReachesEveryoneAndHistoryForgetsIt) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", ""));
  auto bob = sign_in(fx, "bob");
  fx.send(bob, join("team"));
  fx.say(bob, "team", "spam spam");
  fx.say(bob, "team", "sorry");
  fx.pump();
  ASSERT_EQ(alice.s->of("message").size(), 2u);
  const std::int64_t id = alice.s->of("message").at(0)["id"];
  fx.send(alice, {{"type", "delete"}, {"room", "team"}, {"id", id}});
  fx.pump();
  for (auto* s : {alice.s, bob.s}) {
    ASSERT_EQ(s->of("deleted").size(), 1u);
    EXPECT_EQ(s->of("deleted").at(0)["id"], id);
  }
  fx.send(bob, {{"type", "history"}, {"room", "team"}});
  const json page = bob.s->last();
  ASSERT_EQ(page["messages"].size(), 1u);
  EXPECT_EQ(page["messages"][0]["text"], "sorry");
  auto carol = sign_in(fx, "carol");
  fx.send(carol, {{"type", "join"}, {"room", "team"}, {"since", id - 1}});  // a resume across it
  EXPECT_TRUE(carol.s->of("error").empty()) << carol.s->of("error").at(0).dump();
  ASSERT_EQ(carol.s->of("history").size(), 1u);
  EXPECT_EQ(carol.s->of("history").at(0)["messages"].size(), 1u);
}

TEST(Rooms, AMuteLastsItsTimeAndFollowsTheUsersTabs) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", ""));
  auto bob = sign_in(fx, "bob");
  fx.send(bob, join("team"));
  fx.send(alice, {{"type", "mute"}, {"room", "team"}, {"user", "bob"}, {"seconds", 60}});
  EXPECT_EQ(bob.s->of("muted").size(), 1u);
  fx.say(bob, "team", "hello?");
  EXPECT_EQ(error_code(*bob.s), "muted");
  auto bob2 = sign_in(fx, "bob");  // a new tab is still muted
  fx.send(bob2, join("team"));
  fx.say(bob2, "team", "hello?");
  EXPECT_EQ(error_code(*bob2.s), "muted");
  fx.now_ms += 61'000;
  fx.say(bob, "team", "back");
  fx.pump();
  EXPECT_EQ(alice.s->of("message").size(), 1u);
}

TEST(Rooms, AnInviteOnlyRoomLetsInTheInvitedOnlyAndIsHiddenFromOthers) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("secret", "hush", true));
  auto bob = sign_in(fx, "bob");
  auto carol = sign_in(fx, "carol");
  fx.send(bob, join("secret"));
  EXPECT_EQ(error_code(*bob.s), "invite_only");
  fx.send(carol, {{"type", "rooms"}});
  EXPECT_TRUE(carol.s->last()["rooms"].empty());
  fx.send(alice, act("invite", "secret", "bob"));
  ASSERT_EQ(bob.s->of("invited").size(), 1u);
  EXPECT_EQ(bob.s->of("invited").at(0)["room"], "secret");
  fx.send(bob, {{"type", "rooms"}});
  EXPECT_EQ(bob.s->last()["rooms"].size(), 1u);
  fx.send(bob, join("secret"));
  EXPECT_EQ(bob.s->of("joined").size(), 1u);
  fx.send(bob, act("invite", "secret", "carol"));  // a member is no moderator
  EXPECT_EQ(error_code(*bob.s), "forbidden");
  auto gus = fx.named("gus");
  fx.send(gus, join("secret"));
  EXPECT_EQ(error_code(*gus.s), "invite_only");
}

TEST(Rooms, AnInvitationWaitsForARegisteredUserWhoIsAway) {
  chat_fixture fx;
  auto known = [](std::string_view key) -> std::optional<std::string> {
    if (key == "alice" || key == "bob") return std::string(key);
    return std::nullopt;
  };
  fx.the_hub().set_directory({known, known});
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("secret", "hush", true));
  fx.send(alice, act("invite", "secret", "bob"));  // bob has never been online here
  ASSERT_EQ(alice.s->of("done").size(), 1u);
  fx.send(alice, act("invite", "secret", "nobody"));
  EXPECT_EQ(error_code(*alice.s), "no_such_user");
  auto bob = sign_in(fx, "bob");
  fx.send(bob, {{"type", "rooms"}});
  ASSERT_EQ(bob.s->last()["rooms"].size(), 1u);
  fx.send(bob, join("secret"));
  EXPECT_EQ(bob.s->of("joined").size(), 1u);
}

TEST(Rooms, TheRoomsPerUserLimitIsTheUsersAndALeaveMakesRoom) {
  hub_limits limits = relaxed();
  limits.max_rooms_per_user = 2;
  chat_fixture fx(limits);
  auto one = sign_in(fx, "alice");
  auto two = sign_in(fx, "alice");
  fx.send(one, join("a"));
  fx.send(two, join("b"));
  fx.send(two, join("c"));
  EXPECT_EQ(error_code(*two.s), "too_many_rooms");
  fx.send(one, {{"type", "leave"}, {"room", "a"}});
  fx.send(two, join("c"));
  EXPECT_EQ(two.s->of("joined").size(), 2u);
}

TEST(Rooms, TheRateLimitIsTheUsersNotTheSockets) {
  hub_limits limits;
  limits.rate_per_second = 1;
  limits.burst = 4;
  chat_fixture fx(limits);
  // The first hello spends a token of its connection's 4, and the user starts with the 3 left;
  // the second tab's hello is paid by that connection, before it is the user's.
  auto one = sign_in(fx, "alice");
  auto two = sign_in(fx, "alice");
  fx.send(one, join("r"));
  fx.send(two, join("r"));
  fx.send(one, join("r"));
  EXPECT_EQ(error_code(*one.s), "");
  EXPECT_EQ(error_code(*two.s), "");
  fx.send(two, join("r"));
  EXPECT_EQ(error_code(*two.s), "rate_limited");
  auto bob = sign_in(fx, "bob");  // another user has a bucket of its own
  fx.send(bob, join("r"));
  EXPECT_EQ(error_code(*bob.s), "");
}

TEST(Rooms, AnOwnerWhoLeavesHandsTheRoomToAModerator) {
  chat_fixture fx;
  auto alice = sign_in(fx, "alice");
  fx.send(alice, create("team", ""));
  auto bob = sign_in(fx, "bob");
  fx.send(bob, join("team"));
  fx.send(alice, {{"type", "promote"}, {"room", "team"}, {"user", "bob"}, {"role", "moderator"}});
  fx.send(alice, {{"type", "leave"}, {"room", "team"}});
  EXPECT_EQ(bob.s->of("room").back()["owner"], "bob");
  fx.send(bob, {{"type", "topic"}, {"room", "team"}, {"topic", "new hands"}});
  EXPECT_EQ(bob.s->of("room").back()["topic"], "new hands");
}

}  // namespace
}  // namespace duplex::chat::test
