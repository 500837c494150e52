#include <gtest/gtest.h>

#include "chat_support.hpp"

namespace duplex::chat::test {
namespace {

std::string error_code(const recording_session& s) {
  const auto errors = s.of("error");
  return errors.empty() ? "" : errors.back()["code"].get<std::string>();
}

TEST(Nick, UniqueIgnoringCase) {
  chat_fixture fx;
  auto a = fx.named("Alice");
  EXPECT_EQ(a.s->last()["type"], "welcome");
  auto b = fx.named("aLiCe");
  EXPECT_EQ(error_code(*b.s), "nick_taken");
  fx.send(b, {{"type", "hello"}, {"nick", "bob"}});
  EXPECT_EQ(b.s->last()["nick"], "bob");
  fx.send(b, {{"type", "hello"}, {"nick", "carol"}});
  EXPECT_EQ(error_code(*b.s), "already_named");
}

TEST(Nick, ReleasedWhenTheClientLeaves) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.the_hub().detach(a.id);
  auto b = fx.named("alice");
  EXPECT_EQ(b.s->last()["type"], "welcome");
}

TEST(Nick, TokenTakesTheNameOverFromAStaleConnection) {
  chat_fixture fx;
  auto old = fx.named("alice");
  const std::string token = old.s->last()["token"];
  fx.send(old, {{"type", "join"}, {"room", "r"}});
  auto again = fx.connect();
  fx.send(again, {{"type", "hello"}, {"nick", "alice"}, {"token", "wrong"}});
  EXPECT_EQ(error_code(*again.s), "nick_taken");
  fx.send(again, {{"type", "hello"}, {"nick", "alice"}, {"token", token}});
  EXPECT_EQ(again.s->last()["type"], "welcome");
  EXPECT_EQ(old.s->close_code, 4000);
  fx.the_hub().detach(old.id);  // the old socket's close arrives later: it must not free the name
  auto thief = fx.named("alice");
  EXPECT_EQ(error_code(*thief.s), "nick_taken");
}

TEST(Identity, TheServerNamesTheSpeakerNeverTheMessage) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.send(b, {{"type", "join"}, {"room", "r"}});
  fx.send(a, {{"type", "say"},
              {"room", "r"},
              {"text", "hi"},
              {"nick", "bob"},
              {"from", "bob"},
              {"id", 99}});
  fx.pump();
  const auto got = b.s->of("message");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["nick"], "alice");
  EXPECT_EQ(got[0]["id"], 1);
  // Stored with the guest's mark, so that the name keeps it in history (wire::guest_name).
  EXPECT_EQ(fx.stored_before("r", 100, 10).at(0).nick, "~alice");
  EXPECT_EQ(got[0]["guest"], true);
}

TEST(Rooms, PresenceOnJoinLeaveAndDisconnect) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "Lobby"}});
  fx.send(b, {{"type", "join"}, {"room", "lobby"}});
  const auto joined = b.s->of("joined").at(0);
  EXPECT_EQ(joined["room"], "lobby");
  EXPECT_EQ(joined["members"], json({"alice", "bob"}));
  EXPECT_EQ(a.s->of("presence").at(0), json({{"type", "presence"},
                                             {"room", "lobby"},
                                             {"nick", "bob"},
                                             {"guest", true},
                                             {"event", "join"}}));
  fx.send(b, {{"type", "leave"}, {"room", "lobby"}});
  EXPECT_EQ(b.s->last()["type"], "left");
  EXPECT_EQ(a.s->last()["event"], "leave");
  fx.send(b, {{"type", "join"}, {"room", "lobby"}});
  fx.the_hub().detach(b.id);
  EXPECT_EQ(a.s->last()["event"], "leave");
  EXPECT_EQ(a.s->last()["nick"], "bob");
}

TEST(Rooms, NamesAreValidated) {
  chat_fixture fx;
  auto a = fx.named("alice");
  for (const char* bad :
       {"", "has space", "semi;colon", "../etc", "x123456789012345678901234567890123"}) {
    fx.send(a, {{"type", "join"}, {"room", bad}});
    EXPECT_EQ(error_code(*a.s), "invalid_room") << bad;
  }
}

TEST(Rooms, LimitsPerClientAndPerRoom) {
  hub_limits l = relaxed();
  l.max_rooms_per_user = 2;
  l.max_members_per_room = 2;
  chat_fixture fx(l);
  auto a = fx.named("a");
  fx.send(a, {{"type", "join"}, {"room", "one"}});
  fx.send(a, {{"type", "join"}, {"room", "two"}});
  fx.send(a, {{"type", "join"}, {"room", "three"}});
  EXPECT_EQ(error_code(*a.s), "too_many_rooms");
  auto b = fx.named("b");
  auto c = fx.named("c");
  fx.send(b, {{"type", "join"}, {"room", "one"}});
  fx.send(c, {{"type", "join"}, {"room", "one"}});
  EXPECT_EQ(error_code(*c.s), "room_full");
}

TEST(Messages, IdsIncreasePerRoomAndAcksComeOnlyOnceStored) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  fx.send(a, {{"type", "join"}, {"room", "y"}});
  fx.send(a, {{"type", "say"}, {"room", "x"}, {"text", "1"}, {"ref", "r1"}});
  fx.send(a, {{"type", "say"}, {"room", "x"}, {"text", "2"}});
  fx.send(a, {{"type", "say"}, {"room", "y"}, {"text", "3"}});
  EXPECT_TRUE(a.s->of("message").empty());  // nothing is announced before it is durable
  EXPECT_TRUE(a.s->of("ack").empty());
  fx.pump();
  const auto msgs = a.s->of("message");
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0]["id"], 1);
  EXPECT_EQ(msgs[1]["id"], 2);
  EXPECT_EQ(msgs[2]["room"], "y");
  EXPECT_EQ(msgs[2]["id"], 1);
  EXPECT_EQ(msgs[0]["ts"], fx.now_ms);
  EXPECT_EQ(a.s->of("ack").at(0), json({{"type", "ack"}, {"ref", "r1"}, {"room", "x"}, {"id", 1}}));
}

TEST(Messages, TextLimits) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  fx.say(a, "x", "");
  EXPECT_EQ(error_code(*a.s), "empty_text");
  fx.say(a, "x", std::string(4097, 'a'));
  EXPECT_EQ(error_code(*a.s), "text_too_long");
  fx.say(a, "x", std::string(4096, 'a'));
  fx.pump();
  EXPECT_EQ(a.s->of("message").size(), 1u);
  fx.say(a, "not-joined", "hi");
  EXPECT_EQ(error_code(*a.s), "not_joined");
}

TEST(History, SurvivesARestartAndIdsContinue) {
  chat_fixture fx;
  {
    auto a = fx.named("alice");
    fx.send(a, {{"type", "join"}, {"room", "x"}});
    for (int i = 1; i <= 3; ++i)
      fx.say(a, "x", "m" + std::to_string(i));
    fx.pump();
  }
  fx.open();  // restart
  auto b = fx.named("bob");
  fx.send(b, {{"type", "join"}, {"room", "x"}});
  const auto h = b.s->of("history").at(0)["messages"];
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[2]["text"], "m3");
  EXPECT_EQ(b.s->of("joined").at(0)["last_id"], 3);
  fx.say(b, "x", "after restart");
  fx.pump();
  EXPECT_EQ(b.s->of("message").at(0)["id"], 4);
}

TEST(History, PagesGoBackwardsAtMostAHundred) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  for (int i = 1; i <= 150; ++i)
    fx.say(a, "x", std::to_string(i));
  fx.pump();
  fx.send(a, {{"type", "history"}, {"room", "x"}, {"before", 120}, {"limit", 500}});
  auto page = a.s->last();
  ASSERT_EQ(page["messages"].size(), 100u);
  EXPECT_EQ(page["messages"][0]["id"], 20);
  EXPECT_EQ(page["messages"][99]["id"], 119);
  EXPECT_FALSE(page.contains("start")) << "19 older messages remain";
  fx.send(a, {{"type", "history"}, {"room", "x"}, {"before", 5}, {"limit", 10}});
  EXPECT_EQ(a.s->last()["messages"].size(), 4u);
  EXPECT_EQ(a.s->last()["start"], true) << "the page reaches the room's first message";
  fx.send(a, {{"type", "history"}, {"room", "x"}, {"before", 1}});
  EXPECT_TRUE(a.s->last()["messages"].empty());
  EXPECT_EQ(a.s->last()["start"], true);
}

TEST(History, AJoinSaysWhetherItReachesTheBeginning) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "short"}});
  for (int i = 1; i <= 3; ++i)
    fx.say(a, "short", std::to_string(i));
  fx.send(a, {{"type", "join"}, {"room", "long"}});
  for (int i = 1; i <= 60; ++i)
    fx.say(a, "long", std::to_string(i));
  fx.pump();
  auto b = fx.named("bob");
  fx.send(b, {{"type", "join"}, {"room", "short"}});
  EXPECT_EQ(b.s->of("history").at(0)["start"], true);
  fx.send(b, {{"type", "join"}, {"room", "long"}});
  EXPECT_FALSE(b.s->of("history").at(1).contains("start")) << "50 of 60 messages";
}

TEST(Resume, DeliversExactlyTheMissedMessagesInOrder) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  for (int i = 1; i <= 10; ++i)
    fx.say(a, "x", std::to_string(i));
  fx.pump();
  auto b = fx.named("bob");
  fx.send(b, {{"type", "join"}, {"room", "x"}, {"since", 6}});
  const auto h = b.s->of("history").at(0);
  EXPECT_EQ(h["resume"], true);
  ASSERT_EQ(h["messages"].size(), 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(h["messages"][static_cast<std::size_t>(i)]["id"], 7 + i);
}

TEST(Resume, MessagesStillBeingStoredAreNotSentTwice) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  fx.say(a, "x", "one");
  fx.pump();
  fx.say(a, "x", "two");   // handed to the store, not yet announced
  fx.the_store().flush();  // committed, completion not run yet
  auto b = fx.named("bob");
  fx.send(b, {{"type", "join"}, {"room", "x"}, {"since", 0}});
  fx.pump();  // now "two" is announced
  std::vector<std::int64_t> ids;
  const auto history =
      b.s->of("history").at(0);  // a named copy: the loop must not view a temporary
  for (auto& m : history["messages"])
    ids.push_back(m["id"]);
  const auto live = b.s->of("message");
  for (auto& m : live)
    ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{1, 2}));
}

TEST(Resume, TooOldAsksTheClientToRefetch) {
  hub_limits l = relaxed();
  l.max_resume = 5;
  chat_fixture fx(l, 100);
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  for (int i = 1; i <= 250; ++i)
    fx.say(a, "x", std::to_string(i));
  fx.pump();
  auto b = fx.named("bob");
  fx.send(b, {{"type", "join"}, {"room", "x"}, {"since", 240}});
  EXPECT_EQ(error_code(*b.s), "resume_too_old");  // 10 missed, more than max_resume
  EXPECT_EQ(b.s->last()["room"], "x");
  fx.send(b, {{"type", "join"}, {"room", "x"}, {"since", 247}});
  EXPECT_EQ(b.s->last()["messages"].size(), 3u);
  fx.send(b, {{"type", "join"}, {"room", "x"}, {"since", 999}});  // from a future we never had
  EXPECT_EQ(error_code(*b.s), "resume_too_old");
  EXPECT_GT(fx.the_store().first_id("x"), 1);  // old messages were pruned
}

TEST(RateLimit, BurstThenErrorsThenCloseWith1008) {
  hub_limits l;
  l.burst = 5;
  l.rate_per_second = 1;
  chat_fixture fx(l);
  auto a = fx.named("alice");  // 1 token
  for (int i = 0; i < 4; ++i)
    fx.send(a, {{"type", "rooms"}});
  EXPECT_EQ(error_code(*a.s), "");
  fx.send(a, {{"type", "rooms"}});
  EXPECT_EQ(error_code(*a.s), "rate_limited");
  EXPECT_EQ(a.s->close_code, 0);
  fx.now_ms += 3000;  // three tokens come back, the debt shrinks
  for (int i = 0; i < 3; ++i)
    fx.send(a, {{"type", "rooms"}});
  EXPECT_EQ(a.s->close_code, 0);
  for (int i = 0; i < 10 && a.s->close_code == 0; ++i)
    fx.send(a, {{"type", "rooms"}});
  EXPECT_EQ(a.s->close_code, 1008);
  const auto before = a.s->got.size();
  fx.send(a, {{"type", "rooms"}});
  EXPECT_EQ(a.s->got.size(), before);  // a closed client is ignored
  EXPECT_GT(fx.the_hub().counters().rate_limited, 0u);
}

// A say or dm refused for its rate names its cid, so that the page puts the text back into its
// composer rather than showing it "sending..." for ever.
TEST(RateLimit, ARefusedSendCarriesItsCid) {
  hub_limits l;
  l.burst = 6;
  l.rate_per_second = 1;
  chat_fixture fx(l);
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "general"}});
  for (int i = 0; i < 8 && a.s->last().value("code", "") != "rate_limited"; ++i)
    fx.send(
        a,
        {{"type", "say"}, {"room", "general"}, {"text", "hi"}, {"cid", "c" + std::to_string(i)}});
  const auto refused = a.s->last();
  ASSERT_EQ(refused.value("code", ""), "rate_limited");
  EXPECT_EQ(refused.value("room", ""), "general");
  EXPECT_EQ(refused.value("cid", "").substr(0, 1), "c");
  fx.send(a, {{"type", "rooms"}});  // no cid: a plain error
  EXPECT_EQ(a.s->last().value("code", ""), "rate_limited");
  EXPECT_FALSE(a.s->last().contains("cid"));
  fx.send(a, {{"type", "dm"}, {"with", "bob"}, {"text", "hi"}, {"cid", "d1"}});
  EXPECT_EQ(a.s->last().value("cid", ""), "d1");
  EXPECT_EQ(a.s->last().value("with", ""), "bob");
  EXPECT_EQ(a.s->close_code, 0);
}

// Typing and read marks draw on a bucket of their own, so that a reader in a busy room (a mark
// per live message) keeps the tokens of its words; past it they are dropped without an answer,
// and a flood of them still closes.
TEST(RateLimit, TypingAndReadMarksSpendABucketOfTheirOwn) {
  hub_limits l;
  l.burst = 3;
  l.rate_per_second = 1;
  l.signal_burst = 10;
  l.signal_rate_per_second = 1;
  chat_fixture fx(l);
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  for (int i = 0; i < 10; ++i)
    fx.send(a, {{"type", "typing"}, {"room", "x"}});
  fx.send(a, {{"type", "say"}, {"room", "x"}, {"text", "still mine"}, {"ref", "r1"}});
  fx.pump();
  EXPECT_EQ(error_code(*a.s), "");
  EXPECT_EQ(a.s->of("ack").size(), 1u);
  const auto before = a.s->got.size();
  fx.send(a, {{"type", "typing"}, {"room", "x"}});
  EXPECT_EQ(a.s->got.size(), before);  // refused, and nothing to answer
  EXPECT_EQ(a.s->close_code, 0);
  for (int i = 0; i < 20 && a.s->close_code == 0; ++i)
    fx.send(a, {{"type", "typing"}, {"room", "x"}});
  EXPECT_EQ(a.s->close_code, 1008);
}

TEST(Typing, OthersOnlyThrottledDroppableAndNeverStored) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  fx.send(b, {{"type", "join"}, {"room", "x"}});
  fx.send(a, {{"type", "typing"}, {"room", "x"}});
  fx.send(a, {{"type", "typing"}, {"room", "x"}});  // within the interval: dropped
  EXPECT_EQ(b.s->of("typing").size(), 1u);
  EXPECT_TRUE(b.s->droppable.back());
  EXPECT_TRUE(a.s->of("typing").empty());
  fx.now_ms += 2500;
  fx.send(a, {{"type", "typing"}, {"room", "x"}});
  EXPECT_EQ(b.s->of("typing").size(), 2u);
  b.s->refuse_droppable = true;
  fx.now_ms += 2500;
  fx.send(a, {{"type", "typing"}, {"room", "x"}});
  EXPECT_EQ(fx.the_hub().counters().dropped, 1u);
  fx.pump();
  EXPECT_TRUE(fx.stored_before("x", 100, 100).empty());
}

// The old `private` message (not stored, sent to whoever a selector named) is gone: private
// words go to a conversation, by `dm` (hub_private_test.cpp).
TEST(Private, TheUnstoredPrivateMessageIsGone) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "private"}, {"to", "BOB"}, {"text", "psst"}});
  EXPECT_EQ(error_code(*a.s), "unknown_type");
  EXPECT_TRUE(b.s->of("private").empty());
  EXPECT_TRUE(b.s->of("dm").empty());
}

TEST(Errors, KeepTheConnectionOpen) {
  chat_fixture fx;
  auto a = fx.connect();
  fx.the_hub().receive(a.id, "{not json");
  EXPECT_EQ(error_code(*a.s), "bad_json");
  fx.the_hub().receive(a.id, "[1,2]");
  EXPECT_EQ(error_code(*a.s), "bad_json");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  EXPECT_EQ(error_code(*a.s), "hello_first");
  fx.send(a, {{"type", "hello"}, {"nick", "alice"}});
  fx.send(a, {{"type", "dance"}});
  EXPECT_EQ(error_code(*a.s), "unknown_type");
  fx.send(a, {{"type", "say"}, {"room", 5}, {"text", {1, 2}}});
  EXPECT_EQ(error_code(*a.s), "not_joined");
  EXPECT_EQ(a.s->close_code, 0);
}

// Index of the first message of `type` with `key` == value in what a session got, or -1.
long index_of(const recording_session& s, const std::string& type, std::int64_t id) {
  for (std::size_t i = 0; i < s.got.size(); ++i)
    if (s.got[i]["type"] == type && s.got[i].value("id", std::int64_t{-1}) == id)
      return static_cast<long>(i);
  return -1;
}

TEST(Feed, AMessageLostFromTheFeedIsReadFromTheStoreBeforeTheNext) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.send(b, {{"type", "join"}, {"room", "r"}});
  fx.lose_from_feed = [](const stored_message& m) { return m.id == 2; };
  for (const char* t : {"one", "two", "three"}) {
    fx.say(a, "r", t);
    fx.pump();
  }
  for (auto* s : {a.s, b.s}) {
    const auto got = s->of("message");
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(got[static_cast<std::size_t>(i)]["id"], i + 1);
    EXPECT_EQ(got[1]["text"], "two");
  }
  // Every ack follows its message, the filled one included.
  for (std::int64_t id = 1; id <= 3; ++id) {
    ASSERT_GE(index_of(*a.s, "message", id), 0);
    EXPECT_LT(index_of(*a.s, "message", id), index_of(*a.s, "ack", id)) << "id " << id;
  }
}

TEST(Feed, AResyncDeliversWhatTheFeedLostAtItsEnd) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.send(b, {{"type", "join"}, {"room", "r"}});
  fx.say(a, "r", "kept");
  fx.pump();
  fx.lose_from_feed = [](const stored_message&) { return true; };
  fx.say(a, "r", "lost one");
  fx.say(a, "r", "lost two");
  fx.pump();
  EXPECT_EQ(b.s->of("message").size(), 1u);
  EXPECT_TRUE(a.s->of("ack").size() == 1u) << "no ack before the message is broadcast";
  fx.lose_from_feed = nullptr;
  fx.resync();
  const auto got = b.s->of("message");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2]["text"], "lost two");
  EXPECT_EQ(a.s->of("ack").size(), 3u);
}

}  // namespace
}  // namespace duplex::chat::test
