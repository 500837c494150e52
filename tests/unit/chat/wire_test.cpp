// The chat's JSON: the shapes docs/chat-protocol.md promises, and readers that take any input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/wire.hpp"

namespace duplex::chat::test {
namespace {

using json = nlohmann::json;

TEST(Wire, InvalidUtf8IsReplacedNeverThrown) {
  const std::string out = to_wire(json{{"ref", std::string("ab\xC3", 3)}});
  EXPECT_EQ(json::parse(out)["ref"], "ab\xEF\xBF\xBD");
  EXPECT_EQ(code_points("a\xC3\xA9\xF0\x9F\x98\x80"), 3u);
  const stored_message bad{"r", 1, "n", std::string("\xFF", 1), 0};
  EXPECT_EQ(json::parse(wire::message(bad))["text"], "\xEF\xBF\xBD");
}

TEST(Wire, RequestsAreObjectsWithFieldsReadByKind) {
  EXPECT_FALSE(wire::request::parse("{not json"));
  EXPECT_FALSE(wire::request::parse("[1,2]"));
  EXPECT_FALSE(wire::request::parse("\"hello\""));
  const auto r = wire::request::parse(
      R"({"type":"join","room":5,"since":7,"before":-2,"limit":2.5,"big":18446744073709551615})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type(), "join");
  EXPECT_EQ(r->str("room"), "");  // a number where a string belongs reads as absent
  EXPECT_EQ(r->natural("since"), 7);
  EXPECT_EQ(r->natural("before"), -1);
  EXPECT_EQ(r->natural("limit"), -1);
  EXPECT_EQ(r->natural("big"), -1);
  EXPECT_EQ(r->natural("absent"), -1);
}

TEST(Wire, ServerMessagesHaveTheDocumentedFields) {
  const stored_message m{"r", 3, "ann", "hi", 1234};
  EXPECT_EQ(json::parse(wire::message(m)), json({{"type", "message"},
                                                 {"room", "r"},
                                                 {"id", 3},
                                                 {"nick", "ann"},
                                                 {"text", "hi"},
                                                 {"ts", 1234}}));
  const auto history = json::parse(wire::join_history("r", {m}, true));
  EXPECT_EQ(history["resume"], true);
  EXPECT_EQ(history["messages"].at(0)["id"], 3);
  EXPECT_FALSE(history["messages"].at(0).contains("type"));
  EXPECT_FALSE(json::parse(wire::join_history("r", {}, false)).contains("resume"));
  EXPECT_EQ(json::parse(wire::history_page("r", {}, 9))["before"], 9);
  EXPECT_EQ(json::parse(wire::joined("r", {"a", "b"}, 4)),
            json({{"type", "joined"}, {"room", "r"}, {"members", {"a", "b"}}, {"last_id", 4}}));
  EXPECT_EQ(json::parse(wire::presence("r", "ann", false))["event"], "leave");
  EXPECT_EQ(json::parse(wire::room_list({{"a", 2}}))["rooms"],
            json::parse(R"([{"name":"a","members":2}])"));
  EXPECT_FALSE(json::parse(wire::error("bad_json", "x"))["room"].is_string());
  EXPECT_EQ(json::parse(wire::error("invalid_ref", "x", "r"))["room"], "r");
}

// A guest's name carries its mark through the stores; on the wire it is the name and a flag.
TEST(Wire, GuestsAreMarked) {
  const std::string gus = wire::guest_name("gus");
  EXPECT_EQ(gus, "~gus");
  EXPECT_TRUE(wire::shown(gus).guest);
  EXPECT_EQ(wire::shown(gus).nick, "gus");
  EXPECT_FALSE(wire::shown("ann").guest);
  EXPECT_EQ(wire::shown(wire::guest_name("~x")).nick, "~x");  // a guest named ~x stays ~x
  const auto said = json::parse(wire::message({"r", 1, gus, "hi", 5}));
  EXPECT_EQ(said["nick"], "gus");
  EXPECT_EQ(said["guest"], true);
  EXPECT_FALSE(json::parse(wire::message({"r", 1, "ann", "hi", 5})).contains("guest"));
  EXPECT_EQ(json::parse(wire::joined("r", {"~zed", "ann", gus}, 4)),
            json({{"type", "joined"},
                  {"room", "r"},
                  {"members", {"ann", "gus", "zed"}},
                  {"guests", {"zed", "gus"}},
                  {"last_id", 4}}));
  EXPECT_EQ(json::parse(wire::welcome(gus, "t"))["guest"], true);
  EXPECT_EQ(json::parse(wire::typing("r", gus))["guest"], true);
}

TEST(Wire, FeedMessagesNeedARoomAndAPositiveId) {
  const auto m = wire::parse_feed_message(R"({"room":"r","id":5,"nick":"ann","text":"hi","ts":7})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 5);
  EXPECT_EQ(m->ts_ms, 7);
  EXPECT_FALSE(wire::parse_feed_message(R"({"room":"r","id":0})"));
  EXPECT_FALSE(wire::parse_feed_message(R"({"room":"","id":1})"));
  EXPECT_FALSE(wire::parse_feed_message(R"({"room":["r"],"id":1})"));
  EXPECT_FALSE(wire::parse_feed_message("nope"));
}

TEST(Wire, NodePresenceReadsBackWhatItWrote) {
  const auto p = wire::parse_node_presence(wire::encode({"r", "ann", true, "node1"}));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->room, "r");
  EXPECT_EQ(p->nick, "ann");
  EXPECT_TRUE(p->joined);
  EXPECT_EQ(p->node, "node1");
  EXPECT_FALSE(wire::parse_node_presence(R"({"room":"r","event":"join"})"));
  EXPECT_FALSE(wire::parse_node_presence("[]"));
  const auto t = wire::parse_node_presence(wire::encode({"r", "ann", false, "n", true, "key"}));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->typing);
  EXPECT_FALSE(t->joined);
  EXPECT_EQ(t->user, "key");
}

}  // namespace
}  // namespace duplex::chat::test
