// Read marks (issue 11, item 7): per user and feed, stored, the same on every session of the
// user, and what joins and welcomes count unread messages from.
#include <gtest/gtest.h>

#include <limits>

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

void join(chat_fixture& fx, const chat_fixture::user& u, const std::string& room) {
  fx.send(u, {{"type", "join"}, {"room", room}});
}

TEST(ReadMarks, AFirstJoinReadsTheRoomAndALaterOneCountsWhatCameSince) {
  chat_fixture fx;
  auto bob = fx.named("bob");
  join(fx, bob, "r");
  fx.say(bob, "r", "old 1");
  fx.say(bob, "r", "old 2");
  fx.pump();
  auto a = sign_in(fx, "alice");
  join(fx, a, "r");
  json joined = a.s->of("joined").at(0);
  EXPECT_EQ(joined["last_id"], 2);
  EXPECT_EQ(joined["last_read"], 2);  // history is not news
  EXPECT_EQ(joined["unread"], 0);
  fx.the_hub().detach(a.id);  // a reload
  fx.say(bob, "r", "new 3");
  fx.say(bob, "r", "new 4");
  fx.say(bob, "r", "new 5");
  fx.pump();
  fx.open();  // and a restart: the mark is the store's
  bob = fx.named("bob");
  join(fx, bob, "r");
  auto a2 = sign_in(fx, "alice");
  join(fx, a2, "r");
  joined = a2.s->of("joined").at(0);
  EXPECT_EQ(joined["last_read"], 2);
  EXPECT_EQ(joined["unread"], 3);
  auto guest = fx.named("dave");
  join(fx, guest, "r");
  EXPECT_FALSE(guest.s->of("joined").at(0).contains("last_read"));
}

// The page's case: a room first joined while empty is not "joined for the first time" again.
TEST(ReadMarks, ARoomJoinedWhileEmptyCountsWhatCameSince) {
  chat_fixture fx;
  auto a = sign_in(fx, "alice");
  join(fx, a, "quiet");
  EXPECT_EQ(a.s->of("joined").at(0)["unread"], 0);
  fx.the_hub().detach(a.id);
  auto bob = fx.named("bob");
  join(fx, bob, "quiet");
  fx.say(bob, "quiet", "one");
  fx.say(bob, "quiet", "two");
  fx.pump();
  fx.open();  // the mark of 0 is the store's too
  auto a2 = sign_in(fx, "alice");
  join(fx, a2, "quiet");
  EXPECT_EQ(a2.s->of("joined").at(0)["last_read"], 0);
  EXPECT_EQ(a2.s->of("joined").at(0)["unread"], 2);
}

TEST(ReadMarks, AReadGoesToEverySessionOfTheUserAndOnlyForward) {
  chat_fixture fx;
  auto bob = fx.named("bob");
  auto one = sign_in(fx, "alice");
  auto two = sign_in(fx, "alice");
  join(fx, one, "r");
  join(fx, two, "r");
  join(fx, bob, "r");
  for (int i = 0; i < 4; ++i)
    fx.say(bob, "r", "m");
  fx.pump();
  const auto before_two = two.s->of("read").size();
  fx.send(one, {{"type", "read"}, {"room", "R"}, {"id", 3}});
  EXPECT_EQ(one.s->last(), json::parse(R"({"type":"read","room":"r","id":3})"));
  ASSERT_EQ(two.s->of("read").size(), before_two + 1);
  EXPECT_EQ(two.s->last()["id"], 3);
  EXPECT_TRUE(bob.s->of("read").empty());
  // Backwards changes nothing: the asker alone is told the mark as it is.
  fx.send(two, {{"type", "read"}, {"room", "r"}, {"id", 1}});
  EXPECT_EQ(two.s->last(), json::parse(R"({"type":"read","room":"r","id":3})"));
  EXPECT_EQ(one.s->of("read").size(), 1u);  // the room was empty at its join: only 3
  fx.pump();
  auto three = sign_in(fx, "alice");
  join(fx, three, "r");
  EXPECT_EQ(three.s->of("joined").at(0)["unread"], 1);
}

TEST(ReadMarks, WhatAUserSaysItHasRead) {
  chat_fixture fx;
  auto a = sign_in(fx, "alice");
  join(fx, a, "r");
  fx.say(a, "r", "mine");
  fx.pump();
  EXPECT_EQ(a.s->of("read").back(), json::parse(R"({"type":"read","room":"r","id":1})"));
}

TEST(ReadMarks, HostileMarksAreRefused) {
  chat_fixture fx;
  auto a = sign_in(fx, "alice");
  auto b = sign_in(fx, "bob");
  join(fx, a, "r");
  fx.say(a, "r", "x");
  fx.pump();
  const std::pair<json, std::string> cases[] = {
      {{{"room", "r"}, {"id", 2}}, "invalid_read"},  // beyond the last id
      {{{"room", "r"}, {"id", std::numeric_limits<std::int64_t>::max()}}, "invalid_read"},
      {{{"room", "r"}, {"id", std::numeric_limits<std::uint64_t>::max()}}, "invalid_read"},
      {{{"room", "r"}, {"id", -1}}, "invalid_read"},
      {{{"room", "r"}, {"id", "1"}}, "invalid_read"},
      {{{"room", "r"}}, "invalid_read"},
      {{{"room", "elsewhere"}, {"id", 1}}, "not_joined"},
      {{{"id", 1}}, "not_joined"},
      {{{"with", "bob"}, {"id", 1}}, "no_such_conversation"},
      {{{"with", "alice"}, {"id", 1}}, "self_conversation"},
      {{{"with", "nobody"}, {"id", 1}}, "no_such_user"},
  };
  for (const auto& [fields, code] : cases) {
    json j = fields;
    j["type"] = "read";
    fx.send(a, j);
    EXPECT_EQ(error_code(*a.s), code) << j.dump();
  }
  fx.send(a, {{"type", "dm"}, {"with", "bob"}, {"text", "hi"}});
  fx.pump();
  fx.send(b, {{"type", "read"}, {"with", "alice"}, {"id", 2}});
  EXPECT_EQ(error_code(*b.s), "invalid_read");
  fx.send(b, {{"type", "read"}, {"with", "ALICE"}, {"id", 1}});
  EXPECT_EQ(b.s->last(), json::parse(R"({"type":"read","with":"alice","id":1})"));
  auto guest = fx.named("dave");
  join(fx, guest, "r");
  fx.send(guest, {{"type", "read"}, {"room", "r"}, {"id", 1}});
  EXPECT_EQ(error_code(*guest.s), "signed_in_only");
}

TEST(ReadMarks, AConversationsUnreadCountFollowsTheMark) {
  chat_fixture fx;
  auto a = sign_in(fx, "alice");
  auto b = sign_in(fx, "bob");
  for (const char* t : {"1", "2", "3"})
    fx.send(a, {{"type", "dm"}, {"with", "bob"}, {"text", t}});
  fx.pump();
  fx.send(b, {{"type", "read"}, {"with", "alice"}, {"id", 2}});
  fx.pump();
  fx.open();
  auto b2 = sign_in(fx, "bob");
  EXPECT_EQ(b2.s->of("welcome").at(0)["conversations"],
            json::parse(R"([{"with":"alice","last_id":3,"last_read":2,"unread":1}])"));
}

}  // namespace
}  // namespace duplex::chat::test
