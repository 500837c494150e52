// How a room's events reach its members: one publish to the room's topic for everything all
// members get, per connection for what one member gets (acks, errors, its join history) and
// for typing (droppable), and no topic before a joiner's history is out.
#include <gtest/gtest.h>

#include "chat_support.hpp"

namespace duplex::chat::test {
namespace {

std::vector<std::string> types_published(const recording_topics& t) {
  std::vector<std::string> out;
  for (const auto& [topic, j] : t.published)
    out.push_back(j["type"]);
  return out;
}

// The rooms a session listens to (it also listens to its user's topic from its welcome).
std::set<std::string> room_topics(const recording_session& s) {
  std::set<std::string> out;
  for (const auto& t : s.subscribed)
    if (t.starts_with("chat/room/")) out.insert(t);
  return out;
}

TEST(Fanout, ARoomMessageIsPublishedOnceForAllItsMembers) {
  chat_fixture fx;
  std::vector<chat_fixture::user> users;
  for (int i = 0; i < 5; ++i) {
    users.push_back(fx.named("u" + std::to_string(i)));
    fx.send(users.back(), {{"type", "join"}, {"room", "Lobby"}});
    EXPECT_EQ(room_topics(*users.back().s), std::set<std::string>{hub::topic_of("lobby")});
  }
  fx.topics().published.clear();
  const auto sent_before = fx.the_hub().counters().messages_out;
  fx.send(users[0], {{"type", "say"}, {"room", "lobby"}, {"text", "hi"}, {"ref", "r1"}});
  fx.pump();
  ASSERT_EQ(types_published(fx.topics()), std::vector<std::string>{"message"});
  EXPECT_EQ(fx.topics().published[0].first, "chat/room/lobby");
  for (const auto& u : users)
    ASSERT_EQ(u.s->of("message").size(), 1u);
  // The ack is the sender's alone, after its message.
  EXPECT_EQ(users[0].s->last()["type"], "ack");
  EXPECT_TRUE(users[1].s->of("ack").empty());
  // Counted per recipient, as before topics: five messages and one ack.
  EXPECT_EQ(fx.the_hub().counters().messages_out - sent_before, 6u);
}

TEST(Fanout, PresenceIsPublishedTypingAndErrorsAreNot) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.topics().published.clear();
  fx.send(b, {{"type", "join"}, {"room", "r"}});
  fx.send(b, {{"type", "typing"}, {"room", "r"}});
  fx.send(b, {{"type", "say"}, {"room", "r"}, {"text", ""}});  // empty_text, to b alone
  fx.send(b, {{"type", "leave"}, {"room", "r"}});
  EXPECT_EQ(types_published(fx.topics()), (std::vector<std::string>{"presence", "presence"}));
  EXPECT_EQ(a.s->of("typing").size(), 1u);
  EXPECT_TRUE(a.s->droppable.at(a.s->got.size() - 2));  // the typing, before b's leave
  EXPECT_TRUE(a.s->of("error").empty());
  EXPECT_EQ(a.s->of("presence").size(), 2u);
  EXPECT_TRUE(b.s->of("presence").empty());  // a member is not told of itself
}

// Another node's typist reaches this node's members of the room, none of the typist's own
// sessions, and nobody for a room nobody here is in.
TEST(Fanout, AnotherNodesTypingReachesTheRoomsMembersHere) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.send(b, {{"type", "join"}, {"room", "r"}});
  fx.remote_typing("r", "carol", "carol");
  ASSERT_EQ(a.s->of("typing").size(), 1u);
  EXPECT_EQ(a.s->of("typing")[0]["nick"], "carol");
  EXPECT_TRUE(a.s->droppable.back());
  EXPECT_EQ(b.s->of("typing").size(), 1u);
  fx.remote_typing("r", "alice", "alice");  // alice's session on another node
  EXPECT_EQ(a.s->of("typing").size(), 1u);
  EXPECT_EQ(b.s->of("typing").size(), 2u);
  fx.remote_typing("elsewhere", "carol", "carol");
  EXPECT_EQ(a.s->of("typing").size() + b.s->of("typing").size(), 3u);
}

// A resync of some feeds reads back what those missed, and leaves the others alone.
TEST(Fanout, AResyncOfSomeFeedsCatchesUpThoseOnly) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  fx.send(a, {{"type", "join"}, {"room", "x"}});
  fx.send(b, {{"type", "join"}, {"room", "y"}});
  fx.pump();
  fx.lose_from_feed = [](const stored_message&) { return true; };
  fx.say(a, "x", "missed in x");
  fx.say(b, "y", "missed in y");
  fx.pump();
  fx.lose_from_feed = nullptr;
  EXPECT_TRUE(a.s->of("message").empty());
  fx.resync_feeds([](const std::string& feed) { return feed == "x"; });
  fx.pump();
  ASSERT_EQ(a.s->of("message").size(), 1u);
  EXPECT_EQ(a.s->of("message")[0]["text"], "missed in x");
  EXPECT_TRUE(b.s->of("message").empty());
  fx.resync();
  fx.pump();
  EXPECT_EQ(b.s->of("message").size(), 1u);
}

TEST(Fanout, LeavingAndDisconnectingEndTheSubscription) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "one"}});
  fx.send(a, {{"type", "join"}, {"room", "two"}});
  EXPECT_EQ(room_topics(*a.s).size(), 2u);
  fx.send(a, {{"type", "leave"}, {"room", "one"}});
  EXPECT_EQ(room_topics(*a.s), std::set<std::string>{"chat/room/two"});
  // A join again (a resume) stops listening while its history is read, then listens again;
  // recording_session fails the test on a second subscription or a stray unsubscription.
  fx.send(a, {{"type", "join"}, {"room", "two"}, {"since", 0}});
  EXPECT_EQ(room_topics(*a.s), std::set<std::string>{"chat/room/two"});
  fx.the_hub().detach(a.id);
  EXPECT_TRUE(a.s->subscribed.empty());
}

TEST(Fanout, ATakenOverConnectionStopsListening) {
  chat_fixture fx;
  auto old = fx.named("alice");
  const std::string token = old.s->last()["token"];
  fx.send(old, {{"type", "join"}, {"room", "r"}});
  auto again = fx.connect();
  fx.send(again, {{"type", "hello"}, {"nick", "alice"}, {"token", token}});
  EXPECT_TRUE(old.s->subscribed.empty());
  auto bob = fx.named("bob");
  fx.send(bob, {{"type", "join"}, {"room", "r"}});
  fx.say(bob, "r", "hi");
  fx.pump();
  EXPECT_TRUE(old.s->of("message").empty());
}

// A store whose member lists wait until the test answers them, so that a join's history can be
// held open; messages reach the hub when the test feeds them.
struct manual_store final : store {
  std::vector<stored_message> log;
  std::vector<std::function<void(bool, std::vector<std::string>)>> owed_members;
  bool members_later = false;
  void last_id(std::string_view, std::function<void(bool, std::int64_t)> done) override {
    done(true, static_cast<std::int64_t>(log.size()));
  }
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override {
    m.id = static_cast<std::int64_t>(log.size()) + 1;
    log.push_back(m);
    done(true, m.id);
  }
  void before(std::string_view, std::int64_t before_id, std::size_t, read_done done) override {
    std::vector<stored_message> out;
    for (const auto& m : log)
      if (m.id < before_id) out.push_back(m);
    done(true, out);
  }
  void range(std::string_view, std::int64_t after, std::int64_t up_to, std::size_t,
             read_done done) override {
    std::vector<stored_message> out;
    for (const auto& m : log)
      if (m.id > after && m.id <= up_to) out.push_back(m);
    done(true, out);
  }
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override { done(true, {}); }
  void remote_members(const std::string&,
                      std::function<void(bool, std::vector<std::string>)> done) override {
    if (members_later) return owed_members.push_back(std::move(done));
    done(true, {});
  }
  void feed(std::int64_t id) { report_message(log.at(static_cast<std::size_t>(id - 1))); }
};

TEST(Fanout, AJoinerListensOnlyOnceItsHistoryIsOut) {
  manual_store st;
  recording_topics topics;
  hub h(st, topics, relaxed(), [] { return std::int64_t{0}; });
  recording_session a(topics), b(topics);
  const auto ia = h.attach(a), ib = h.attach(b);
  h.receive(ia, R"({"type":"hello","nick":"alice"})");
  h.receive(ib, R"({"type":"hello","nick":"bob"})");
  h.receive(ia, R"({"type":"join","room":"r"})");
  st.members_later = true;
  h.receive(ib, R"({"type":"join","room":"r"})");
  h.receive(ia, R"({"type":"say","room":"r","text":"while bob joins","ref":"x"})");
  st.feed(1);
  EXPECT_EQ(a.of("message").size(), 1u);
  EXPECT_EQ(a.last()["type"], "ack");
  EXPECT_TRUE(room_topics(b).empty());
  EXPECT_TRUE(b.of("message").empty());
  ASSERT_EQ(st.owed_members.size(), 1u);
  st.owed_members[0](true, {});
  // joined, the history up to where it was asked (nothing), then the message held meanwhile.
  ASSERT_EQ(b.got.size(), 4u);  // welcome first
  EXPECT_EQ(b.got[1]["type"], "joined");
  EXPECT_EQ(b.got[2]["type"], "history");
  EXPECT_TRUE(b.got[2]["messages"].empty());
  EXPECT_EQ(b.got[3]["id"], 1);
  EXPECT_EQ(b.from_topics, 0u);
  EXPECT_EQ(room_topics(b), std::set<std::string>{"chat/room/r"});
  h.receive(ia, R"({"type":"say","room":"r","text":"after"})");
  st.feed(2);
  EXPECT_EQ(b.last()["id"], 2);
  EXPECT_EQ(b.from_topics, 1u);
}

// A member who moved to this node (its old node died) is still in the room when the old node's
// entry expires: the sweep's leave must not unlist it. Someone gone everywhere is unlisted.
TEST(Fanout, ARemoteLeaveOfAMemberStillHereIsNotAnnounced) {
  chat_fixture fx;
  auto alice = fx.named("alice");
  auto bob = fx.named("bob");
  fx.send(bob, {{"type", "join"}, {"room", "r"}});
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.pump();
  const auto before = bob.s->of("presence").size();
  fx.remote_presence("r", "~alice", false);  // a guest, in carried form
  fx.pump();
  EXPECT_EQ(bob.s->of("presence").size(), before);
  fx.remote_presence("r", "~carol", true);
  fx.remote_presence("r", "~carol", false);
  fx.pump();
  ASSERT_EQ(bob.s->of("presence").size(), before + 2);
  EXPECT_EQ(bob.s->of("presence").back()["event"], "leave");
  EXPECT_EQ(bob.s->of("presence").back()["nick"], "carol");  // shown without the mark
}

}  // namespace
}  // namespace duplex::chat::test
