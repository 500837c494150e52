// Client ids (issue 14, item 1): a say or a dm with a `cid` is stored once, whatever number of
// times it is sent (a resend after a reconnect, a restart, a resend racing the first), and the
// sender is answered with the first id each time; other authors' cids are theirs.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "chat_support.hpp"
#include "src/conversations.hpp"
#include "src/schema.hpp"
#include "src/sql.hpp"

namespace duplex::chat::test {
namespace {

json say_cid(const std::string& text, const std::string& cid) {
  return {{"type", "say"}, {"room", "r"}, {"text", text}, {"cid", cid}};
}

std::size_t stored_count(chat_fixture& fx, const std::string& feed) {
  return fx.stored_before(feed, 1'000'000, 10'000).size();
}

TEST(Cid, AResendIsAnsweredWithTheFirstIdAndStoredOnce) {
  chat_fixture fx;
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  for (auto* u : {&a, &b})
    fx.send(*u, {{"type", "join"}, {"room", "r"}});
  fx.pump();
  fx.send(a, say_cid("line one\nline two", "c0ffee"));
  fx.pump();
  fx.send(a, say_cid("line one\nline two", "c0ffee"));  // the ack was lost with the socket
  fx.pump();
  const auto acks = a.s->of("ack");
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]["id"], acks[1]["id"]);
  EXPECT_EQ(acks[1]["cid"], "c0ffee");
  ASSERT_EQ(b.s->of("message").size(), 1u);
  EXPECT_EQ(b.s->of("message")[0]["cid"], "c0ffee");
  EXPECT_EQ(b.s->of("message")[0]["text"], "line one\nline two");
  EXPECT_EQ(stored_count(fx, "r"), 1u);
}

TEST(Cid, AResendRacingTheFirstWriteIsStillOne) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.pump();
  fx.send(a, say_cid("hi", "k1"));
  fx.send(a, say_cid("hi", "k1"));  // before the writer committed the first
  fx.pump();
  fx.pump();
  const auto acks = a.s->of("ack");
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]["id"], acks[1]["id"]);
  EXPECT_EQ(a.s->of("message").size(), 1u);
  EXPECT_EQ(stored_count(fx, "r"), 1u);
}

TEST(Cid, RecognisedAfterARestartAndOnlyForItsAuthor) {
  chat_fixture fx;
  {
    auto a = fx.named("alice");
    fx.send(a, {{"type", "join"}, {"room", "r"}});
    fx.pump();
    fx.send(a, say_cid("before the restart", "same"));
    fx.pump();
  }
  fx.open();
  auto a = fx.named("alice");
  auto b = fx.named("bob");
  for (auto* u : {&a, &b})
    fx.send(*u, {{"type", "join"}, {"room", "r"}});
  fx.pump();
  fx.send(a, say_cid("before the restart", "same"));
  fx.send(b, say_cid("bob's own", "same"));  // another author's cid: another message
  fx.pump();
  ASSERT_EQ(a.s->of("ack").size(), 1u);
  EXPECT_EQ(a.s->of("ack")[0]["id"], 1);
  ASSERT_EQ(b.s->of("ack").size(), 1u);
  EXPECT_EQ(b.s->of("ack")[0]["id"], 2);
  EXPECT_EQ(stored_count(fx, "r"), 2u);
}

TEST(Cid, TheWelcomeSaysTheTextLimitInBytes) {
  hub_limits small = relaxed();
  small.max_text_bytes = 100;
  chat_fixture fx(small);
  auto a = fx.named("alice");
  ASSERT_EQ(a.s->of("welcome").size(), 1u);
  EXPECT_EQ(a.s->of("welcome")[0]["max_text_bytes"], 100);
}

TEST(Cid, BadCidsAreRefusedAndARefusalNamesTheCid) {
  chat_fixture fx;
  auto a = fx.named("alice");
  fx.send(a, {{"type", "join"}, {"room", "r"}});
  fx.pump();
  for (const std::string& bad :
       {std::string(65, 'a'), std::string("a b"), std::string("caf\xC3\xA9"), std::string("a\nb"),
        std::string("x/y")}) {
    fx.send(a, say_cid("hi", bad));
    ASSERT_EQ(a.s->last()["type"], "error") << bad;
    EXPECT_EQ(a.s->last()["code"], "invalid_cid") << bad;
  }
  fx.send(a, say_cid(std::string(4097, 'x'), "long-one"));
  EXPECT_EQ(a.s->last()["code"], "text_too_long");
  EXPECT_EQ(a.s->last()["cid"], "long-one");
  EXPECT_EQ(a.s->last()["room"], "r");
  fx.send(a, say_cid("", "empty_1"));
  EXPECT_EQ(a.s->last()["code"], "empty_text");
  EXPECT_EQ(a.s->last()["cid"], "empty_1");
  fx.send(a, say_cid("  \n ", "blank_1"));
  EXPECT_EQ(a.s->last()["code"], "empty_text");
  fx.send(a, say_cid("bell\x07", "bell_1"));
  EXPECT_EQ(a.s->last()["code"], "invalid_text");
  EXPECT_EQ(a.s->last()["cid"], "bell_1");
  fx.send(a, say_cid("fits", std::string(64, 'Z')));
  fx.pump();
  ASSERT_EQ(a.s->of("ack").size(), 1u);
  EXPECT_EQ(a.s->of("ack")[0]["cid"], std::string(64, 'Z'));
  EXPECT_EQ(stored_count(fx, "r"), 1u);
}

TEST(Cid, ADmResendIsDeliveredOnce) {
  chat_fixture fx;
  auto shown = [](std::string_view key) -> std::optional<std::string> {
    if (key == "alice") return "Alice";
    if (key == "bob") return "Bob";
    return std::nullopt;
  };
  fx.the_hub().set_directory({shown, [shown](std::string_view k) -> std::optional<std::string> {
                                if (shown(k)) return std::string(k);
                                return std::nullopt;
                              }});
  auto a = fx.connect("Alice");
  fx.send(a, {{"type", "hello"}});
  auto b = fx.connect("Bob");
  fx.send(b, {{"type", "hello"}});
  fx.pump();
  const json dm{{"type", "dm"}, {"with", "Bob"}, {"text", "once"}, {"cid", "d1"}};
  fx.send(a, dm);
  fx.pump();
  fx.send(a, dm);
  fx.pump();
  const auto acks = a.s->of("ack");
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]["id"], acks[1]["id"]);
  EXPECT_EQ(acks[1]["cid"], "d1");
  ASSERT_EQ(b.s->of("dm").size(), 1u);
  EXPECT_EQ(b.s->of("dm")[0]["cid"], "d1");
  EXPECT_EQ(stored_count(fx, conversations::feed_of("alice", "bob")), 1u);
  fx.send(a, {{"type", "dm"}, {"with", "Bob"}, {"text", "x"}, {"cid", "no way"}});
  EXPECT_EQ(a.s->last()["code"], "invalid_cid");
}

// The store on its own: an author's cids are kept up to a bound, the oldest forgotten first.
TEST(Cid, EachAuthorKeepsItsLastCidsOnly) {
  chat_fixture fx;
  auto& store = fx.the_store();
  // By label: a duplicate is answered at once, a new message once it is written.
  std::map<std::string, append_result> got;
  auto send = [&](const std::string& label, const std::string& cid, const std::string& author) {
    store.append_once({"r", 0, "n", "t", 1, cid, author},
                      [&got, label](append_result a) { got[label] = a; });
  };
  for (std::size_t i = 0; i <= store::max_sent_cids; ++i)
    send("first " + std::to_string(i), "c" + std::to_string(i), "ann");
  send("other", "c0", "other");
  fx.pump();
  send("oldest again", "c0", "ann");  // forgotten: stored again
  send("newest again", "c" + std::to_string(store::max_sent_cids), "ann");  // known
  send("other again", "c0", "other");
  fx.pump();
  ASSERT_EQ(got.size(), store::max_sent_cids + 5);
  const auto n = static_cast<std::int64_t>(store::max_sent_cids);
  EXPECT_FALSE(got["oldest again"].duplicate);
  EXPECT_EQ(got["oldest again"].id, n + 3);
  EXPECT_TRUE(got["newest again"].duplicate);
  EXPECT_EQ(got["newest again"].id, n + 1);
  EXPECT_TRUE(got["other again"].duplicate);
  EXPECT_EQ(got["other again"].id, n + 2);
}

// A file of version 5 (messages without cids) is upgraded in place, its history kept.
TEST(Cid, AVersion5FileKeepsItsHistoryAndLearnsCids) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("duplex-cid-v5-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    sql::connection db(path.string(), std::chrono::seconds(1));
    db.exec(
        "CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL,"
        " text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;"
        "INSERT INTO messages VALUES ('r', 1, 'ada', 'old one', 5), ('r', 2, 'bo', 'old two', 6);");
    migrate(db);  // every version's tables; then back to what version 5 had
  }
  {
    sql::connection db(path.string(), std::chrono::seconds(1));
    db.exec("ALTER TABLE messages DROP COLUMN cid; DROP TABLE sent; PRAGMA user_version = 5;");
  }
  std::vector<std::function<void()>> posted;
  {
    sqlite_store store(path.string(), [&](std::function<void()> fn) { posted.push_back(fn); });
    std::vector<stored_message> old;
    store.range("r", 0, 100, 10, [&](bool, std::vector<stored_message> m) { old = m; });
    ASSERT_EQ(old.size(), 2u);
    EXPECT_EQ(old[1].text, "old two");
    EXPECT_EQ(old[1].cid, "");
    std::vector<append_result> got;  // the resend's answer first: it is known at once
    for (int i = 0; i < 2; ++i)
      store.append_once({"r", 0, "ada", "new", 7, "n1", "ada"},
                        [&](append_result a) { got.push_back(a); });
    store.flush();
    for (auto& fn : posted)
      fn();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(got[0].duplicate);
    EXPECT_EQ(got[0].id, 3);
    EXPECT_FALSE(got[1].duplicate);
    EXPECT_EQ(got[1].id, 3);
    got.clear();
    store.append_once({"r", 0, "ada", "new", 7, "n1", "ada"},
                      [&](append_result a) { got.push_back(a); });
    ASSERT_EQ(got.size(), 1u);  // from the file now
    EXPECT_TRUE(got[0].duplicate);
    EXPECT_EQ(got[0].id, 3);
  }
  sql::connection db(path.string(), std::chrono::seconds(1));
  sql::statement v(db, "PRAGMA user_version");
  ASSERT_TRUE(v.row());
  EXPECT_EQ(v.integer(0), schema_version);
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

}  // namespace
}  // namespace duplex::chat::test
