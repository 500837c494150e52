// Several sessions of one signed-in user (issue 11's step 4): one name, one presence, messages
// and typing that follow the user, and no session that closes another. Guests keep today's rules:
// one connection per name, taken over only by its token.
#include <gtest/gtest.h>

#include "chat_support.hpp"

namespace duplex::chat::test {
namespace {

std::string error_code(const recording_session& s) {
  const auto errors = s.of("error");
  return errors.empty() ? "" : errors.back()["code"].get<std::string>();
}

chat_fixture::user hello(chat_fixture& fx, const std::string& signed_in, const std::string& nick) {
  auto u = fx.connect(signed_in);
  fx.send(u, {{"type", "hello"}, {"nick", nick}});
  return u;
}

TEST(Users, SessionsOfASignedInUserShareItsName) {
  chat_fixture fx;
  auto one = hello(fx, "Alice", "Alice");
  auto two = hello(fx, "Alice", "mallory");  // named by the server, whatever hello says
  EXPECT_EQ(one.s->last()["nick"], "Alice");
  EXPECT_EQ(two.s->last()["nick"], "Alice");
  EXPECT_EQ(fx.the_hub().users(), 1u);
  auto guest = fx.named("alice");
  EXPECT_EQ(error_code(*guest.s), "nick_taken");
  const std::string token = one.s->of("welcome").at(0)["token"];
  fx.send(guest, {{"type", "hello"}, {"nick", "ALICE"}, {"token", token}});
  EXPECT_EQ(error_code(*guest.s), "nick_taken");  // a token takes over guests only
  EXPECT_EQ(one.s->close_code, 0);
  EXPECT_EQ(two.s->close_code, 0);
  auto mallory = fx.named("mallory");  // the second session's hello took nothing
  EXPECT_EQ(mallory.s->last()["type"], "welcome");
}

// A guest who took the name (or one like it) before it was registered gives it up to its owner.
TEST(Users, ARegisteredUserTakesItsNameBackFromAGuest) {
  chat_fixture fx;
  auto guest = fx.named("bob");
  auto look_alike = fx.named("BOB");  // refused: the same key as bob
  EXPECT_EQ(error_code(*look_alike.s), "nick_taken");
  fx.send(guest, {{"type", "join"}, {"room", "r"}});
  auto bob = hello(fx, "Bob", "Bob");
  EXPECT_EQ(bob.s->last()["type"], "welcome");
  EXPECT_EQ(guest.s->close_code, ws::to_int(close_name_claimed));
  EXPECT_EQ(fx.the_hub().users(), 1u);
  auto again = fx.named("bob");
  EXPECT_EQ(error_code(*again.s), "nick_taken");
}

TEST(Users, GuestsAreMarkedWhereverTheirNameShows) {
  chat_fixture fx;
  auto guest = fx.named("gus");
  EXPECT_EQ(guest.s->last()["nick"], "gus");
  EXPECT_EQ(guest.s->last()["guest"], true);
  auto ann = hello(fx, "ann", "ann");
  EXPECT_FALSE(ann.s->last().contains("guest"));
  fx.send(ann, {{"type", "join"}, {"room", "r"}});
  fx.send(guest, {{"type", "join"}, {"room", "r"}});
  fx.pump();
  const auto presence = ann.s->of("presence").at(0);
  EXPECT_EQ(presence["nick"], "gus");
  EXPECT_EQ(presence["guest"], true);
  const auto joined = guest.s->of("joined").at(0);
  EXPECT_EQ(joined["members"], json({"ann", "gus"}));
  EXPECT_EQ(joined["guests"], json({"gus"}));
  fx.say(guest, "r", "hi");
  fx.say(ann, "r", "hello");
  fx.pump();
  const auto said = ann.s->of("message");
  ASSERT_EQ(said.size(), 2u);
  EXPECT_EQ(said[0]["nick"], "gus");
  EXPECT_EQ(said[0]["guest"], true);
  EXPECT_EQ(said[1]["nick"], "ann");
  EXPECT_FALSE(said[1].contains("guest"));
}

// The accounts tell the hub which names are registered: a guest may take none of them, nor
// any name that looks like one.
TEST(Users, GuestsCannotTakeARegisteredName) {
  chat_fixture fx;
  const auto registered = names::validate("alice");
  fx.the_hub().guard_names([&](const names::result& n) {
    return n.key == registered.key || n.skeleton == registered.skeleton;
  });
  for (const char* nick : {"alice", "ALICE", "\xD0\x90lice" /* Cyrillic A */}) {
    auto guest = fx.named(nick);
    EXPECT_EQ(error_code(*guest.s),
              nick == std::string("\xD0\x90lice") ? "invalid_nick" : "nick_taken")
        << nick;
  }
  auto other = fx.named("alicia");
  EXPECT_EQ(other.s->last()["type"], "welcome");
  auto owner = hello(fx, "alice", "alice");  // the guard is for guests only
  EXPECT_EQ(owner.s->last()["type"], "welcome");
}

TEST(Users, PresenceIsTheUsersAnnouncedOnce) {
  chat_fixture fx;
  auto bob = fx.named("bob");
  fx.send(bob, {{"type", "join"}, {"room", "r"}});
  auto one = hello(fx, "alice", "alice");
  auto two = hello(fx, "alice", "alice");
  fx.send(one, {{"type", "join"}, {"room", "r"}});
  fx.send(two, {{"type", "join"}, {"room", "r"}});
  EXPECT_EQ(bob.s->of("presence").size(), 1u);
  EXPECT_EQ(two.s->of("joined").at(0)["members"], json({"alice", "bob"}));
  fx.send(bob, {{"type", "rooms"}});
  EXPECT_EQ(bob.s->last()["rooms"][0]["name"], "r");
  EXPECT_EQ(bob.s->last()["rooms"][0]["members"], 2);
  // A signed-in user's membership is the user's: closing a tab is no leave...
  fx.the_hub().detach(two.id);
  EXPECT_EQ(bob.s->of("presence").size(), 1u);
  // ... and a leave is the user's, from any session.
  fx.send(one, {{"type", "leave"}, {"room", "r"}});
  ASSERT_EQ(bob.s->of("presence").size(), 2u);
  EXPECT_EQ(bob.s->of("presence").back()["event"], "leave");
  EXPECT_EQ(bob.s->of("presence").back()["nick"], "alice");
  EXPECT_EQ(one.s->of("left").size(), 1u);
}

TEST(Users, MembersWhoAreAwayAreListedAsAwayAndTheirReturnIsNoJoin) {
  chat_fixture fx;
  auto alice = hello(fx, "alice", "alice");
  auto bob = hello(fx, "bob", "bob");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.send(bob, {{"type", "join"}, {"room", "r"}});
  fx.the_hub().detach(bob.id);  // bob's only tab closes: still a member, now away
  ASSERT_EQ(alice.s->of("status").size(), 1u);
  EXPECT_EQ(alice.s->of("status").back()["nick"], "bob");
  EXPECT_EQ(alice.s->of("status").back()["online"], false);
  auto carol = hello(fx, "carol", "carol");
  fx.send(carol, {{"type", "join"}, {"room", "r"}});
  const json joined = carol.s->of("joined").at(0);
  EXPECT_EQ(joined["members"], json({"alice", "bob", "carol"}));
  EXPECT_EQ(joined["online"], json({"alice", "carol"}));
  const auto lines = alice.s->of("presence").size();
  auto back = hello(fx, "bob", "bob");
  fx.send(back, {{"type", "join"}, {"room", "r"}});
  EXPECT_EQ(alice.s->of("presence").size(), lines);  // no "bob joined"
  ASSERT_EQ(alice.s->of("status").size(), 2u);
  EXPECT_EQ(alice.s->of("status").back()["online"], true);
  EXPECT_TRUE(back.s->of("status").empty());  // nobody is told of their own return
}

TEST(Users, WhatAUserSaysReachesEachOfItsSessionsAndTheAckOnlyTheSender) {
  chat_fixture fx;
  auto bob = fx.named("bob");
  auto one = hello(fx, "alice", "alice");
  auto two = hello(fx, "alice", "alice");
  for (const auto& u : {bob, one, two})
    fx.send(u, {{"type", "join"}, {"room", "r"}});
  fx.send(one, {{"type", "say"}, {"room", "r"}, {"text", "hi"}, {"ref", "x"}});
  fx.pump();
  for (const auto* s : {bob.s, one.s, two.s})
    EXPECT_EQ(s->of("message").size(), 1u);
  EXPECT_EQ(one.s->of("ack").size(), 1u);
  EXPECT_TRUE(two.s->of("ack").empty());
  EXPECT_TRUE(bob.s->of("ack").empty());
  EXPECT_EQ(one.s->close_code, 0);
  EXPECT_EQ(two.s->close_code, 0);
}

TEST(Users, TypingIsTheUsersThrottledOnceAndNotEchoedToItsSessions) {
  chat_fixture fx;
  auto bob = fx.named("bob");
  auto one = hello(fx, "alice", "alice");
  auto two = hello(fx, "alice", "alice");
  for (const auto& u : {bob, one, two})
    fx.send(u, {{"type", "join"}, {"room", "r"}});
  fx.send(one, {{"type", "typing"}, {"room", "r"}});
  fx.send(two, {{"type", "typing"}, {"room", "r"}});  // the same user, within the interval
  EXPECT_EQ(bob.s->of("typing").size(), 1u);
  EXPECT_TRUE(two.s->of("typing").empty());
  fx.now_ms += 2500;
  fx.send(two, {{"type", "typing"}, {"room", "r"}});
  EXPECT_EQ(bob.s->of("typing").size(), 2u);
  EXPECT_TRUE(one.s->of("typing").empty());
  // A message said ends the typing: the next one is announced without waiting the interval.
  fx.send(two, {{"type", "say"}, {"room", "r"}, {"text", "done"}});
  fx.send(two, {{"type", "typing"}, {"room", "r"}});
  EXPECT_EQ(bob.s->of("typing").size(), 3u);
}

TEST(Users, ANameLastsWhileAnySessionHoldsIt) {
  chat_fixture fx;
  auto one = hello(fx, "alice", "alice");
  auto two = hello(fx, "alice", "alice");
  fx.the_hub().detach(one.id);
  EXPECT_TRUE(one.s->subscribed.empty());
  auto guest = fx.named("alice");
  EXPECT_EQ(error_code(*guest.s), "nick_taken");
  fx.the_hub().detach(two.id);
  EXPECT_EQ(fx.the_hub().users(), 0u);  // the guest's refused hello held nothing
  fx.send(guest, {{"type", "hello"}, {"nick", "alice"}});
  EXPECT_EQ(guest.s->last()["type"], "welcome");
}

}  // namespace
}  // namespace duplex::chat::test

namespace duplex::chat::test {
namespace {

// Issue 11's impersonations: a name in use refuses every name that is the same once normalized
// and case folded, or that looks the same (TR #39); the original keeps its name.
TEST(Users, NamesThatLookTheSameAsOneInUseAreRefused) {
  chat_fixture fx;
  auto jose = fx.named("José");
  auto alice = fx.named("alice");
  auto modern = fx.named("modern");
  for (const char* copy : {"JOSÉ", "Jose\u0301", "ALICE", "\u0410lice", "alice\u00A0", "rnodern"}) {
    auto thief = fx.named(copy);
    EXPECT_EQ(thief.s->of("welcome").size(), 0u) << copy;
    EXPECT_FALSE(error_code(*thief.s).empty()) << copy;
  }
  for (const char* blank : {"\u3164", "\u3164\u3164", "\u200B"}) {
    auto thief = fx.named(blank);
    EXPECT_EQ(error_code(*thief.s), "invalid_nick") << blank;
  }
  EXPECT_EQ(fx.the_hub().users(), 3u);
  for (auto* holder : {jose.s, alice.s, modern.s})
    EXPECT_EQ(holder->last()["type"], "welcome");
  // A name is free again once its holder is gone, look-alikes included.
  fx.the_hub().detach(modern.id);
  auto later = fx.named("rnodern");
  EXPECT_EQ(later.s->last()["type"], "welcome");
}

}  // namespace
}  // namespace duplex::chat::test
