// Private conversations (issue 11, item 5): stored with ids and history like a room, delivered
// to every session of both users, kept for a user who was offline, named by the other user in
// every request, and never a way into a room.
#include <gtest/gtest.h>

#include <limits>

#include "chat_support.hpp"
#include "src/conversations.hpp"

namespace duplex::chat::test {
namespace {

std::string error_code(const recording_session& s) {
  const auto errors = s.of("error");
  return errors.empty() ? "" : errors.back()["code"].get<std::string>();
}

// The registered users of these tests, as the accounts would answer.
void register_users(chat_fixture& fx) {
  auto shown = [](std::string_view key) -> std::optional<std::string> {
    if (key == "alice") return "Alice";
    if (key == "bob") return "Bob";
    if (key == "carol") return "Carol";
    return std::nullopt;
  };
  fx.the_hub().set_directory({shown, [shown](std::string_view k) -> std::optional<std::string> {
                                if (shown(k)) return std::string(k);
                                return std::nullopt;
                              }});
}

chat_fixture::user sign_in(chat_fixture& fx, const std::string& name) {
  auto u = fx.connect(name);
  fx.send(u, {{"type", "hello"}});
  return u;
}

void dm(chat_fixture& fx, const chat_fixture::user& u, const std::string& with,
        const std::string& text, const std::string& ref = "") {
  json j{{"type", "dm"}, {"with", with}, {"text", text}};
  if (!ref.empty()) j["ref"] = ref;
  fx.send(u, j);
}

TEST(Conversations, FeedNamesAreOneForBothDirectionsAndNeverARoom) {
  EXPECT_EQ(conversations::feed_of("bob", "alice"), conversations::feed_of("alice", "bob"));
  const auto m = conversations::members(conversations::feed_of("bob", "alice"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->first, "alice");
  EXPECT_EQ(m->second, "bob");
  for (const char* bad : {"", "general", "@", "@a", "@\nb", "@a\n", "@b\na", "@a\nb\nc"})
    EXPECT_FALSE(conversations::members(bad)) << bad;
  EXPECT_FALSE(conversations::is_conversation("general"));
}

TEST(Conversations, AMessageIsStoredAndReachesEverySessionOfBothUsers) {
  chat_fixture fx;
  register_users(fx);
  auto a1 = sign_in(fx, "Alice");
  auto a2 = sign_in(fx, "Alice");
  auto b = sign_in(fx, "Bob");
  auto c = sign_in(fx, "Carol");
  dm(fx, a1, "BOB", "my salary is", "r1");
  fx.pump();
  ASSERT_EQ(a1.s->of("dm").size(), 1u);
  EXPECT_EQ(a1.s->of("dm")[0]["with"], "Bob");
  EXPECT_EQ(a1.s->of("dm")[0]["nick"], "Alice");
  EXPECT_EQ(a1.s->of("dm")[0]["id"], 1);
  EXPECT_FALSE(a1.s->of("dm")[0].contains("room"));
  // The ack comes after the message, to the sending socket only.
  ASSERT_EQ(a1.s->of("ack").size(), 1u);
  EXPECT_EQ(a1.s->of("ack")[0], json::parse(R"({"type":"ack","ref":"r1","with":"Bob","id":1})"));
  EXPECT_EQ(a2.s->of("dm").size(), 1u);
  EXPECT_TRUE(a2.s->of("ack").empty());
  ASSERT_EQ(b.s->of("dm").size(), 1u);
  EXPECT_EQ(b.s->of("dm")[0]["with"], "Alice");
  EXPECT_EQ(b.s->of("dm")[0]["text"], "my salary is");
  EXPECT_TRUE(c.s->of("dm").empty());
  for (const auto& [topic, msg] : fx.topics().published)
    EXPECT_EQ(topic.rfind("chat/user/", 0), 0u) << topic;  // no room's topic
  auto stored = fx.stored_before(conversations::feed_of("alice", "bob"), 100, 100);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].text, "my salary is");
}

TEST(Conversations, ARecipientWhoWasOfflineFindsItUnreadAtSignIn) {
  chat_fixture fx;
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  dm(fx, a, "bob", "one");
  dm(fx, a, "bob", "two");
  fx.pump();
  EXPECT_EQ(a.s->of("ack").size(), 2u);
  EXPECT_EQ(fx.the_hub().conversations(), 1u);
  fx.open();  // a restart: only the store remembers
  register_users(fx);
  auto b = sign_in(fx, "Bob");
  ASSERT_EQ(b.s->of("welcome").size(), 1u);
  EXPECT_EQ(b.s->of("welcome")[0]["conversations"],
            json::parse(R"([{"with":"Alice","last_id":2,"last_read":0,"unread":2}])"));
  fx.send(b, {{"type", "conversation"}, {"with", "alice"}});
  ASSERT_EQ(b.s->of("conversation").size(), 1u);
  const json conv = b.s->of("conversation")[0];
  EXPECT_EQ(conv["with"], "Alice");
  EXPECT_EQ(conv["last_id"], 2);
  EXPECT_EQ(conv["unread"], 2);
  ASSERT_EQ(conv["messages"].size(), 2u);
  EXPECT_EQ(conv["messages"][1]["text"], "two");
  // The sender's own messages are read: Alice has nothing unread.
  auto a2 = sign_in(fx, "Alice");
  EXPECT_EQ(a2.s->of("welcome")[0]["conversations"][0]["unread"], 0);
  fx.send(b, {{"type", "conversations"}});
  EXPECT_EQ(b.s->last()["type"], "conversations");
  EXPECT_EQ(b.s->last()["conversations"][0]["with"], "Alice");
}

TEST(Conversations, ResumeGivesExactlyTheMessagesAfterSince) {
  chat_fixture fx;
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  auto b = sign_in(fx, "Bob");
  for (const char* t : {"1", "2", "3", "4"})
    dm(fx, a, "bob", t);
  fx.pump();
  fx.send(b, {{"type", "conversation"}, {"with", "alice"}, {"since", 2}});
  const json conv = b.s->last();
  ASSERT_EQ(conv["type"], "conversation");
  EXPECT_TRUE(conv["resume"].get<bool>());
  ASSERT_EQ(conv["messages"].size(), 2u);
  EXPECT_EQ(conv["messages"][0]["id"], 3);
  EXPECT_EQ(conv["messages"][1]["id"], 4);
  fx.send(b, {{"type", "conversation"}, {"with", "alice"}, {"since", 4}});
  EXPECT_TRUE(b.s->last()["messages"].empty());
  for (const json& since : {json(5), json(std::numeric_limits<std::int64_t>::max())}) {
    fx.send(b, {{"type", "conversation"}, {"with", "alice"}, {"since", since}});
    EXPECT_EQ(error_code(*b.s), "resume_too_old") << since;
    EXPECT_EQ(b.s->last()["with"], "Alice");
  }
  fx.send(b, {{"type", "history"}, {"with", "alice"}, {"before", 3}, {"limit", 1}});
  ASSERT_EQ(b.s->last()["type"], "history");
  EXPECT_EQ(b.s->last()["with"], "Alice");
  ASSERT_EQ(b.s->last()["messages"].size(), 1u);
  EXPECT_EQ(b.s->last()["messages"][0]["id"], 2);
  EXPECT_FALSE(b.s->last().contains("start")) << "message 1 is older";
  fx.send(b, {{"type", "history"}, {"with", "alice"}, {"before", 2}, {"limit", 5}});
  EXPECT_EQ(b.s->last()["start"], true) << "the page holds the conversation's first message";
  fx.send(b, {{"type", "conversation"}, {"with", "alice"}});
  EXPECT_EQ(b.s->last()["start"], true) << "four messages: all of them";
}

TEST(Conversations, NothingEverReachesARoomEvenWhenTheRecipientLeaves) {
  chat_fixture fx;
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  auto b = sign_in(fx, "Bob");
  auto c = sign_in(fx, "Carol");
  for (const auto& u : {a, b, c})
    fx.send(u, {{"type", "join"}, {"room", "general"}});
  dm(fx, a, "bob", "for bob");
  fx.pump();
  fx.the_hub().detach(b.id);  // bob goes offline
  dm(fx, a, "bob", "my salary is");
  fx.pump();
  EXPECT_EQ(error_code(*a.s), "");
  EXPECT_EQ(a.s->of("ack").size(), 2u);
  EXPECT_TRUE(c.s->of("message").empty());
  EXPECT_TRUE(c.s->of("dm").empty());
  EXPECT_TRUE(a.s->of("message").empty());
  EXPECT_TRUE(fx.stored_before("general", 100, 100).empty());
  fx.send(c, {{"type", "rooms"}});
  // The directory lists the room alone, never the conversation's feed; bob, offline, is still
  // one of its stored members.
  ASSERT_EQ(c.s->last()["rooms"].size(), 1u);
  EXPECT_EQ(c.s->last()["rooms"][0]["name"], "general");
  EXPECT_EQ(c.s->last()["rooms"][0]["members"], 3);
  auto b2 = sign_in(fx, "Bob");
  EXPECT_EQ(b2.s->of("welcome")[0]["conversations"][0]["unread"], 2);
}

TEST(Conversations, HostileRequestsGetAClearAnswerAndCostNothing) {
  chat_fixture fx;
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  auto guest = fx.named("dave");
  fx.send(guest, {{"type", "dm"}, {"with", "alice"}, {"text", "hi"}});
  EXPECT_EQ(error_code(*guest.s), "signed_in_only");
  fx.send(guest, {{"type", "conversation"}, {"with", "alice"}});
  EXPECT_EQ(error_code(*guest.s), "signed_in_only");
  const std::pair<json, std::string> cases[] = {
      {{{"with", "ALICE"}, {"text", "me"}}, "self_conversation"},
      {{{"with", "nobody"}, {"text", "hi"}}, "no_such_user"},
      {{{"with", "dave"}, {"text", "hi"}}, "no_such_user"},  // a guest is nobody's to write to
      {{{"with", 42}, {"text", "hi"}}, "no_such_user"},
      {{{"with", ""}, {"text", "hi"}}, "no_such_user"},
      {{{"with", "\u200Bbob"}, {"text", "hi"}}, "no_such_user"},
      {{{"with", "bob"}, {"text", ""}}, "empty_text"},
      {{{"with", "bob"}, {"text", " \n\t "}}, "empty_text"},
      {{{"with", "bob"}, {"text", std::string("a\0b", 3)}}, "invalid_text"},
      {{{"with", "bob"}, {"text", std::string(4097, 'x')}}, "text_too_long"},
      {{{"with", "bob"}, {"text", "x"}, {"ref", std::string(65, 'r')}}, "invalid_ref"},
  };
  for (const auto& [fields, code] : cases) {
    json j = fields;
    j["type"] = "dm";
    fx.send(a, j);
    EXPECT_EQ(error_code(*a.s), code) << j.dump();
  }
  fx.pump();
  EXPECT_TRUE(a.s->of("dm").empty());
  EXPECT_EQ(fx.the_hub().conversations(), 0u);
  EXPECT_TRUE(guest.s->of("dm").empty());
  fx.send(a, {{"type", "conversation"}, {"with", "alice"}});
  EXPECT_EQ(error_code(*a.s), "self_conversation");
  fx.send(a, {{"type", "history"}, {"with", "nobody"}});
  EXPECT_EQ(error_code(*a.s), "no_such_user");
}

TEST(Conversations, WithoutADirectoryOnlyKnownUsersCanBeWrittenTo) {
  chat_fixture fx;
  auto a = sign_in(fx, "alice");
  auto b = sign_in(fx, "bob");
  dm(fx, a, "bob", "hi");
  fx.pump();
  fx.the_hub().detach(b.id);
  dm(fx, a, "bob", "still there?");  // an existing conversation: bob is known
  dm(fx, a, "carol", "hello?");      // nobody this node knows
  EXPECT_EQ(error_code(*a.s), "no_such_user");
  fx.pump();
  EXPECT_EQ(a.s->of("ack").size(), 2u);
}

TEST(Conversations, InMemoryOnlyWhileAParticipantIsOnline) {
  chat_fixture fx;
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  dm(fx, a, "bob", "hi");
  fx.pump();
  EXPECT_EQ(fx.the_hub().conversations(), 1u);
  fx.the_hub().detach(a.id);
  EXPECT_EQ(fx.the_hub().conversations(), 0u);
  hub_limits tight = relaxed();
  tight.max_conversations = 1;
  fx.open(tight);
  register_users(fx);
  auto a2 = sign_in(fx, "Alice");
  dm(fx, a2, "bob", "one");
  dm(fx, a2, "carol", "two");
  EXPECT_EQ(error_code(*a2.s), "server_full");
  fx.pump();
  EXPECT_EQ(a2.s->of("dm").size(), 1u);
}

// At max_conversations a message from the bus has no feed to order it, and the bus brings it
// once per participant's channel that the node hears (both users here: twice). Each user is
// shown it once all the same.
TEST(Conversations, AtCapacityAMessageHeardOnBothUsersChannelsIsShownOnce) {
  hub_limits tight = relaxed();
  tight.max_conversations = 1;
  chat_fixture fx(tight);
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  auto b = sign_in(fx, "Bob");
  auto c = sign_in(fx, "Carol");
  dm(fx, a, "carol", "fills the only place");
  fx.pump();
  ASSERT_EQ(fx.the_hub().conversations(), 1u);
  // Stored by another node, and heard on alice's channel and on bob's.
  const stored_message m{
      conversations::feed_of("alice", "bob"), 1, "Bob", "hello", fx.now_ms, "", "bob"};
  for (int heard = 0; heard < 2; ++heard)
    static_cast<store_listener&>(fx.the_hub()).on_message(m);
  ASSERT_EQ(b.s->of("dm").size(), 1u);
  EXPECT_EQ(b.s->of("dm")[0]["text"], "hello");
  EXPECT_EQ(a.s->of("dm").size(), 2u);  // the one to carol, and this one
  // The next message is shown, once.
  auto next = m;
  next.id = 2;
  for (int heard = 0; heard < 2; ++heard)
    static_cast<store_listener&>(fx.the_hub()).on_message(next);
  EXPECT_EQ(b.s->of("dm").size(), 2u);
  EXPECT_EQ(c.s->of("dm").size(), 1u);
}

TEST(Conversations, ASessionWaitsForItsWelcomeBeforeAnythingElse) {
  chat_fixture fx;
  register_users(fx);
  auto a = fx.connect("Alice");
  fx.send(a, {{"type", "dm"}, {"with", "bob"}, {"text", "hi"}});
  EXPECT_EQ(error_code(*a.s), "hello_first");
  fx.send(a, {{"type", "hello"}});
  EXPECT_EQ(a.s->last()["type"], "welcome");
  EXPECT_TRUE(a.s->last()["signed_in"].get<bool>());
  EXPECT_TRUE(a.s->last()["conversations"].empty());
  auto guest = fx.named("dave");
  EXPECT_FALSE(guest.s->last().contains("conversations"));
}

// Rooms with owners and conversations with read marks, together: one welcome carries the
// user's stored rooms and its conversations, and a join both the room's description and the
// user's read mark; a moderator's requests never reach a conversation's feed.
TEST(Conversations, StoredRoomsAndConversationsMeetInTheWelcomeAndTheJoin) {
  chat_fixture fx;
  register_users(fx);
  auto a = sign_in(fx, "Alice");
  fx.send(a, {{"type", "create"}, {"room", "team"}, {"topic", "plans"}});
  fx.pump();
  ASSERT_EQ(a.s->of("created").size(), 1u);
  json joined = a.s->of("joined").at(0);
  EXPECT_EQ(joined["topic"], "plans");
  EXPECT_EQ(joined["role"], "owner");
  EXPECT_EQ(joined["last_read"], 0);
  auto b = sign_in(fx, "Bob");
  fx.send(b, {{"type", "join"}, {"room", "team"}});
  fx.say(b, "team", "one");
  fx.say(b, "team", "two");
  dm(fx, b, "alice", "psst");
  fx.pump();
  fx.the_hub().detach(a.id);  // a reload
  fx.say(b, "team", "three");
  dm(fx, b, "alice", "still there?");
  fx.pump();
  auto a2 = sign_in(fx, "Alice");
  fx.pump();
  const json welcome = a2.s->of("welcome").at(0);
  EXPECT_EQ(welcome["rooms"], json::array({"team"}));
  ASSERT_EQ(welcome["conversations"].size(), 1u);
  EXPECT_EQ(welcome["conversations"][0]["with"], "Bob");
  EXPECT_EQ(welcome["conversations"][0]["unread"], 2);
  fx.send(a2, {{"type", "join"}, {"room", "team"}});
  fx.pump();
  joined = a2.s->of("joined").at(0);
  EXPECT_EQ(joined["role"], "owner");
  EXPECT_EQ(joined["last_id"], 3);
  EXPECT_EQ(joined["unread"], 3);
  EXPECT_TRUE(b.s->of("presence").empty());  // a reload is no join
  // The owner's delete names a room: the conversation's messages are out of its reach.
  fx.send(a2, {{"type", "delete"}, {"room", "@alice\nbob"}, {"id", 1}});
  EXPECT_EQ(error_code(*a2.s), "invalid_room");
  fx.send(a2, {{"type", "conversation"}, {"with", "bob"}});
  fx.pump();
  EXPECT_EQ(a2.s->of("conversation").at(0)["messages"].size(), 2u);
}

// The hub keys a signed-in user by its account, not by the name it shows: after a rename the
// user keeps its rooms, its owner's rights and its conversations, and a ban follows whoever
// renamed to escape it; either name reaches the conversation.
TEST(Conversations, ARenamedUserKeepsRoomsRightsAndConversations) {
  chat_fixture fx;
  fx.the_hub().set_directory({[](std::string_view key) -> std::optional<std::string> {
                                if (key == "alice")
                                  return "Alicia";  // alice renamed after her first session
                                if (key == "bob") return "Robert";
                                return std::nullopt;
                              },
                              [](std::string_view shown) -> std::optional<std::string> {
                                if (shown == "alicia") return "alice";
                                if (shown == "robert") return "bob";
                                return std::nullopt;
                              }});
  auto a = fx.connect("Alice", "alice");
  fx.send(a, {{"type", "hello"}});
  auto b = fx.connect("Bob", "bob");
  fx.send(b, {{"type", "hello"}});
  fx.send(a, {{"type", "create"}, {"room", "team"}});
  fx.pump();
  fx.send(b, {{"type", "join"}, {"room", "team"}});
  dm(fx, b, "Alice", "psst");
  fx.pump();
  fx.the_hub().detach(a.id);
  fx.the_hub().detach(b.id);

  auto a2 = fx.connect("Alicia", "alice");
  fx.send(a2, {{"type", "hello"}});
  fx.pump();
  const json welcome = a2.s->of("welcome").at(0);
  EXPECT_EQ(welcome["nick"], "Alicia");
  EXPECT_EQ(welcome["rooms"], json::array({"team"}));
  ASSERT_EQ(welcome["conversations"].size(), 1u);
  EXPECT_EQ(welcome["conversations"][0]["unread"], 1);
  fx.send(a2, {{"type", "join"}, {"room", "team"}});
  fx.pump();
  EXPECT_EQ(a2.s->of("joined").at(0)["role"], "owner");
  fx.send(a2, {{"type", "ban"}, {"room", "team"}, {"user", "Bob"}});  // bob's former name
  EXPECT_EQ(error_code(*a2.s), "");

  auto b2 = fx.connect("Robert", "bob");
  fx.send(b2, {{"type", "hello"}});
  fx.send(b2, {{"type", "join"}, {"room", "team"}});
  EXPECT_EQ(error_code(*b2.s), "banned");
  // The conversation is listed under alice's former name; her new one reaches it too.
  const auto refusals = b2.s->of("error").size();
  dm(fx, b2, "Alice", "one");
  dm(fx, b2, "alicia", "two");
  fx.pump();
  EXPECT_EQ(b2.s->of("error").size(), refusals);
  const auto dms = a2.s->of("dm");
  ASSERT_EQ(dms.size(), 2u);
  EXPECT_EQ(dms[1]["id"], 3);
  EXPECT_EQ(fx.the_hub().conversations(), 1u);
}

}  // namespace
}  // namespace duplex::chat::test
