// Edits, deletions, reactions and replies (issue 14, item 3): events stored with ids of their
// feed's sequence, folded into their message for history pages, replayed in order on a resume,
// allowed to the author alone (edits, deletions), and stored once per cid.
#include <gtest/gtest.h>

#include "chat_support.hpp"
#include "src/message_fold.hpp"

namespace duplex::chat::test {
namespace {

std::string last_error(const recording_session& s) {
  const auto errors = s.of("error");
  return errors.empty() ? "" : errors.back()["code"].get<std::string>();
}

stored_message msg(std::int64_t id, const std::string& author, const std::string& text) {
  stored_message m{"r", id, author, text, 1000, {}, author};
  return m;
}

stored_message event(const std::string& kind, std::int64_t target, const std::string& author,
                     const std::string& text = {}) {
  stored_message e{"r", 0, author, text, 2000, {}, author};
  e.kind = kind;
  e.ref_id = target;
  return e;
}

TEST(Fold, OnlyTheAuthorEditsOrDeletesAndNothingChangesATombstone) {
  auto m = msg(1, "alice", "hello");
  EXPECT_FALSE(fold::apply(m, event("edit", 1, "bob", "mine now")));
  EXPECT_EQ(m.text, "hello");
  EXPECT_TRUE(fold::apply(m, event("edit", 1, "alice", "hello there")));
  EXPECT_EQ(m.text, "hello there");
  EXPECT_EQ(m.edited_ms, 2000);
  EXPECT_FALSE(fold::apply(m, event("edit", 2, "alice", "another message's")));
  EXPECT_FALSE(fold::apply(m, event("delete", 1, "bob")));
  EXPECT_TRUE(fold::apply(m, event("react", 1, "bob", "👍")));
  EXPECT_TRUE(fold::apply(m, event("delete", 1, "alice")));
  EXPECT_TRUE(fold::deleted(m));
  EXPECT_TRUE(m.reactions.empty());
  EXPECT_TRUE(fold::shown(m));  // a tombstone, not a moderator's erase
  EXPECT_FALSE(fold::apply(m, event("edit", 1, "alice", "back")));
  EXPECT_FALSE(fold::apply(m, event("react", 1, "bob", "👍")));
}

TEST(Fold, ReactionsAreSetsAndReplayingChangesNothing) {
  auto m = msg(1, "alice", "hi");
  const auto up = event("react", 1, "bob", "👍");
  EXPECT_TRUE(fold::apply(m, up));
  EXPECT_FALSE(fold::apply(m, up));  // a replay after a history that held it
  EXPECT_TRUE(fold::apply(m, event("react", 1, "carol", "👍")));
  ASSERT_EQ(m.reactions.size(), 1u);
  EXPECT_EQ(m.reactions[0].nicks, (std::vector<std::string>{"bob", "carol"}));
  EXPECT_TRUE(fold::apply(m, event("unreact", 1, "bob", "👍")));
  EXPECT_FALSE(fold::apply(m, event("unreact", 1, "bob", "👍")));
  EXPECT_TRUE(fold::apply(m, event("unreact", 1, "carol", "👍")));
  EXPECT_TRUE(m.reactions.empty());
}

TEST(Fold, DistinctReactionsAreBounded) {
  auto m = msg(1, "alice", "hi");
  for (std::size_t i = 0; i < fold::max_reactions + 5; ++i) {
    stored_message e = event("react", 1, "bob", "x" + std::to_string(i));
    fold::apply(m, e);
  }
  EXPECT_EQ(m.reactions.size(), fold::max_reactions);
  // Stored and read back the same; anything malformed reads as no reaction.
  EXPECT_EQ(fold::decode_reactions(fold::encode_reactions(m.reactions)).size(),
            fold::max_reactions);
  for (const char* bad : {"", "{", "[1]", "[[\"a\"]]", "{\"a\":1}", "[[\"a\",[]]]"})
    EXPECT_TRUE(fold::decode_reactions(bad).empty()) << bad;
}

TEST(Fold, AReactionIsOneEmoji) {
  for (const char* ok :
       {"👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "1️⃣", "🎉", "😂"})
    EXPECT_TRUE(fold::valid_emoji(ok)) << ok;
  for (const char* bad : {"", "a", "1", "👍👍", "😀x", "<b>", "👍\n", "é", "\xF0\x9F"})
    EXPECT_FALSE(fold::valid_emoji(bad)) << bad;
  EXPECT_FALSE(fold::valid_emoji(std::string(fold::max_emoji_bytes + 1, 'a')));
}

// ----- through the hub, on SQLite

struct room_of_two {
  chat_fixture fx;
  chat_fixture::user alice = fx.named("alice");
  chat_fixture::user bob = fx.named("bob");
  room_of_two() {
    for (auto* u : {&alice, &bob})
      fx.send(*u, {{"type", "join"}, {"room", "r"}});
    fx.pump();
  }
  std::int64_t say(const chat_fixture::user& u, const std::string& text, std::int64_t reply = 0) {
    json j{{"type", "say"}, {"room", "r"}, {"text", text}};
    if (reply) j["reply_to"] = reply;
    fx.send(u, j);
    fx.pump();
    return u.s->of("ack").back()["id"].get<std::int64_t>();
  }
  void send(const chat_fixture::user& u, json j) {
    j["room"] = "r";
    fx.send(u, j);
    fx.pump();
  }
};

TEST(Edits, AnEditIsAnEventWithItsOwnIdAndHistoryGivesTheFoldedMessage) {
  room_of_two t;
  const auto id = t.say(t.alice, "helo");
  t.fx.now_ms += 5000;
  t.send(t.alice, {{"type", "edit"}, {"id", id}, {"text", "hello"}, {"cid", "e1"}});
  const auto events = t.bob.s->of("message");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["kind"], "edit");
  EXPECT_EQ(events[1]["target"], id);
  EXPECT_EQ(events[1]["id"], id + 1);  // the feed's sequence
  EXPECT_EQ(events[1]["text"], "hello");
  EXPECT_EQ(t.alice.s->of("ack").back()["cid"], "e1");
  EXPECT_EQ(t.alice.s->of("ack").back()["id"], id + 1);
  const auto page = t.fx.stored_before("r", 1000, 100);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].text, "hello");
  EXPECT_EQ(page[0].edited_ms, t.fx.now_ms);
  // A fresh join shows the message as it is now, with the edit time.
  auto carol = t.fx.named("carol");
  t.fx.send(carol, {{"type", "join"}, {"room", "r"}});
  t.fx.pump();
  const auto hist = carol.s->of("history").back()["messages"];
  ASSERT_GE(hist.size(), 1u);
  EXPECT_EQ(hist[0]["text"], "hello");
  EXPECT_EQ(hist[0]["edited"], t.fx.now_ms);
}

TEST(Edits, OnlyTheAuthorEditsOrDeletesAndADeletedMessageStaysATombstone) {
  room_of_two t;
  const auto id = t.say(t.alice, "mine");
  t.send(t.bob, {{"type", "edit"}, {"id", id}, {"text", "bob's now"}, {"cid", "x1"}});
  EXPECT_EQ(last_error(*t.bob.s), "not_author");
  EXPECT_EQ(t.bob.s->of("error").back()["cid"], "x1");
  t.send(t.bob, {{"type", "retract"}, {"id", id}});
  EXPECT_EQ(last_error(*t.bob.s), "not_author");
  t.send(t.alice, {{"type", "edit"}, {"id", id}, {"text", std::string(5000, 'a')}});
  EXPECT_EQ(last_error(*t.alice.s), "text_too_long");
  t.send(t.alice, {{"type", "edit"}, {"id", id}, {"text", "  \n"}});
  EXPECT_EQ(last_error(*t.alice.s), "empty_text");
  t.send(t.alice, {{"type", "edit"}, {"id", 99}, {"text", "nothing there"}});
  EXPECT_EQ(last_error(*t.alice.s), "no_such_message");
  t.send(t.alice, {{"type", "retract"}, {"id", id}});
  EXPECT_EQ(t.bob.s->of("message").back()["kind"], "delete");
  t.send(t.alice, {{"type", "edit"}, {"id", id}, {"text", "undo"}});
  EXPECT_EQ(last_error(*t.alice.s), "message_deleted");
  t.send(t.bob, {{"type", "react"}, {"id", id}, {"emoji", "👍"}});
  EXPECT_EQ(last_error(*t.bob.s), "message_deleted");
  t.send(t.alice, {{"type", "edit"}, {"id", id + 1}, {"text", "an event"}});
  EXPECT_EQ(last_error(*t.alice.s), "no_such_message");
  auto carol = t.fx.named("carol");
  t.fx.send(carol, {{"type", "join"}, {"room", "r"}});
  t.fx.pump();
  const auto hist = carol.s->of("history").back()["messages"];
  ASSERT_EQ(hist.size(), 2u);  // the tombstone and the deletion
  EXPECT_EQ(hist[0]["deleted"], true);
  EXPECT_EQ(hist[0]["text"], "");
  EXPECT_EQ(hist[1]["kind"], "delete");
}

TEST(Edits, ReactionsToggleAndAResendIsStoredOnce) {
  room_of_two t;
  const auto id = t.say(t.alice, "lunch?");
  t.send(t.bob, {{"type", "react"}, {"id", id}, {"emoji", "👍"}, {"cid", "r1"}});
  t.send(t.bob, {{"type", "react"}, {"id", id}, {"emoji", "👍"}, {"cid", "r1"}});  // resent
  const auto acks = t.bob.s->of("ack");
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]["id"], acks[1]["id"]);
  EXPECT_EQ(t.alice.s->of("message").size(), 2u);
  t.send(t.alice, {{"type", "react"}, {"id", id}, {"emoji", "👍"}});
  auto page = t.fx.stored_before("r", 1000, 100);
  ASSERT_EQ(page[0].reactions.size(), 1u);
  EXPECT_EQ(page[0].reactions[0].nicks, (std::vector<std::string>{"~bob", "~alice"}));
  t.send(t.bob, {{"type", "react"}, {"id", id}, {"emoji", "👍"}, {"remove", true}});
  EXPECT_EQ(t.alice.s->of("message").back()["kind"], "unreact");
  EXPECT_EQ(t.alice.s->of("message").back()["emoji"], "👍");
  page = t.fx.stored_before("r", 1000, 100);
  EXPECT_EQ(page[0].reactions[0].nicks, (std::vector<std::string>{"~alice"}));
  t.send(t.bob, {{"type", "react"}, {"id", id}, {"emoji", "nope"}});
  EXPECT_EQ(last_error(*t.bob.s), "invalid_emoji");
}

TEST(Edits, AResumeReplaysTheEventsInOrderAndConverges) {
  room_of_two t;
  const auto id = t.say(t.alice, "first");
  const std::int64_t seen = id;  // bob's last id before he went away
  t.send(t.alice, {{"type", "edit"}, {"id", id}, {"text", "first!"}});
  t.send(t.alice, {{"type", "react"}, {"id", id}, {"emoji", "🎉"}});
  const auto reply = t.say(t.alice, "and a reply", id);
  auto back = t.fx.named("dave");
  t.fx.send(back, {{"type", "join"}, {"room", "r"}, {"since", seen}});
  t.fx.pump();
  const auto hist = back.s->of("history").back();
  EXPECT_EQ(hist["resume"], true);
  const auto& list = hist["messages"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["kind"], "edit");
  EXPECT_EQ(list[0]["id"], id + 1);
  EXPECT_EQ(list[1]["kind"], "react");
  EXPECT_EQ(list[2]["id"], reply);
  EXPECT_EQ(list[2]["reply_to"], id);
}

TEST(Edits, ARepliesParentMustBeAnIdTheFeedDelivered) {
  room_of_two t;
  t.say(t.alice, "one");
  t.send(t.bob, {{"type", "say"}, {"text", "re"}, {"reply_to", 50}, {"cid", "q1"}});
  EXPECT_EQ(last_error(*t.bob.s), "no_such_message");
  EXPECT_EQ(t.bob.s->of("error").back()["cid"], "q1");
}

TEST(Edits, TheFoldedStateSurvivesARestart) {
  room_of_two t;
  const auto id = t.say(t.alice, "before");
  t.send(t.alice, {{"type", "edit"}, {"id", id}, {"text", "after"}});
  t.send(t.bob, {{"type", "react"}, {"id", id}, {"emoji", "❤️"}});
  t.fx.open();
  const auto page = t.fx.stored_before("r", 1000, 100);
  ASSERT_EQ(page.size(), 3u);
  EXPECT_EQ(page[0].text, "after");
  ASSERT_EQ(page[0].reactions.size(), 1u);
  EXPECT_EQ(page[0].reactions[0].emoji, "❤️");
  EXPECT_EQ(page[1].kind, "edit");
  EXPECT_EQ(page[2].kind, "react");
}

// Private conversations: the same events, named by `with`, to every session of both users.
TEST(Edits, InAPrivateConversationByEitherSideAndEditsByTheAuthorOnly) {
  chat_fixture fx;
  auto alice = fx.connect("alice");
  fx.send(alice, {{"type", "hello"}});
  auto bob = fx.connect("bob");
  fx.send(bob, {{"type", "hello"}});
  fx.pump();
  fx.send(alice, {{"type", "dm"}, {"with", "bob"}, {"text", "psst"}, {"cid", "d1"}});
  fx.pump();
  ASSERT_FALSE(alice.s->of("ack").empty());
  const auto id = alice.s->of("ack").back()["id"].get<std::int64_t>();
  fx.send(bob, {{"type", "react"}, {"with", "alice"}, {"id", id}, {"emoji", "🎉"}, {"cid", "r1"}});
  fx.pump();
  fx.send(bob, {{"type", "edit"}, {"with", "alice"}, {"id", id}, {"text", "bob's"}, {"cid", "x"}});
  fx.pump();
  ASSERT_FALSE(bob.s->of("error").empty());
  EXPECT_EQ(bob.s->of("error").back()["code"], "not_author");
  EXPECT_EQ(bob.s->of("error").back()["with"], "alice");
  fx.send(alice, {{"type", "edit"}, {"with", "bob"}, {"id", id}, {"text", "psst!"}});
  fx.send(alice, {{"type", "dm"}, {"with", "bob"}, {"text", "re"}, {"reply_to", id}});
  fx.pump();
  const auto got = bob.s->of("dm");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1]["kind"], "react");
  EXPECT_EQ(got[1]["with"], "alice");
  EXPECT_EQ(got[2]["kind"], "edit");
  EXPECT_EQ(got[2]["target"], id);
  EXPECT_EQ(got[3]["reply_to"], id);
  fx.send(bob, {{"type", "history"}, {"with", "alice"}});
  fx.pump();
  const auto page = bob.s->of("history").back()["messages"];
  ASSERT_GE(page.size(), 1u);
  EXPECT_EQ(page[0]["text"], "psst!");
  EXPECT_EQ(page[0]["reactions"][0]["emoji"], "🎉");
  EXPECT_EQ(page[0]["reactions"][0]["nicks"][0], "bob");
}

}  // namespace
}  // namespace duplex::chat::test
