// Search (issue 14, item 6): FTS5 over every feed a user may read and nothing else, kept in
// step with appends, erases and upgrades, fed only plain words whatever is typed, and the
// messages around a result.
#include <gtest/gtest.h>

#include "chat_support.hpp"
#include "src/search.hpp"
#include "src/sql.hpp"
#include "src/sqlite_search.hpp"

namespace duplex::chat::test {
namespace {

// Limits with a search rate no test hits by accident (the clock stands still).
hub_limits unhurried() {
  hub_limits l = relaxed();
  l.search_burst = 1e9;
  return l;
}

// A hub and store (chat_fixture) with the SQLite search on the same file.
class search_fixture : public chat_fixture {
 public:
  explicit search_fixture(hub_limits limits = unhurried(),
                          std::chrono::milliseconds budget = std::chrono::milliseconds(2000))
      : chat_fixture(limits) {
    attach_search(budget);
  }
  ~search_fixture() { search_.reset(); }
  void attach_search(std::chrono::milliseconds budget = std::chrono::milliseconds(2000)) {
    search_ = std::make_unique<sqlite_search>(
        db_path(),
        [this](std::function<void()> fn) {
          std::lock_guard lock(mutex_);
          posted_.push_back(std::move(fn));
        },
        budget);
    the_hub().set_search(search_.get());
    the_hub().set_directory({shown, [](std::string_view k) -> std::optional<std::string> {
                               if (shown(k)) return std::string(k);
                               return std::nullopt;
                             }});
  }
  // The writes, then the searches, then their answers on "the loop".
  void settle() {
    pump();
    search_->drain();
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(posted_);
    }
    for (auto& fn : batch)
      fn();
    pump();
  }
  user sign_in(const std::string& name) {
    auto u = connect(name);
    send(u, {{"type", "hello"}});
    return u;
  }
  json search(const user& u, const std::string& q, std::int64_t before = 0) {
    json req{{"type", "search"}, {"q", q}};
    if (before > 0) req["before"] = before;
    const std::size_t had = u.s->got.size();
    send(u, req);
    settle();
    if (u.s->got.size() == had) return json();
    return u.s->got.back();
  }
  static std::optional<std::string> shown(std::string_view key) {
    if (key == "alice") return "alice";
    if (key == "bob") return "bob";
    if (key == "carol") return "carol";
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  std::unique_ptr<sqlite_search> search_;
};

std::string joined_text(const json& result) {
  std::string out;
  for (const auto& seg : result["snippet"])
    out += seg[0].get<std::string>();
  return out;
}

std::vector<std::string> hits_of(const json& result) {
  std::vector<std::string> out;
  for (const auto& seg : result["snippet"])
    if (seg[1].get<bool>()) out.push_back(seg[0].get<std::string>());
  return out;
}

TEST(SearchQuery, WordsAreQuotedAndTheLastOneIsAPrefix) {
  EXPECT_EQ(fts_query("hello"), "\"hello\"*");
  EXPECT_EQ(fts_query("  hello   world "), "\"hello\" \"world\"");
  EXPECT_EQ(fts_query("say \"hi\""), "\"say\" \"\"\"hi\"\"\"*");
  EXPECT_EQ(fts_query("a NEAR(b c) -d text:e *"),
            "\"a\" \"NEAR(b\" \"c)\" \"-d\" \"text:e\" \"*\"*");
  EXPECT_EQ(fts_query(std::string("x\0y", 3)), "\"x\" \"y\"*");
  EXPECT_EQ(fts_query(" \t\n "), "");
  EXPECT_EQ(fts_query("a b c d", 2), "\"a\" \"b\"");
}

TEST(SearchQuery, PlainWordsForPostgresAreTheSameWordsUnquoted) {
  EXPECT_EQ(search_words("  say \"hi\"\tthere "), "say \"hi\" there");
  EXPECT_EQ(search_words(std::string("x\0y", 3)), "x y");
  EXPECT_EQ(search_words("a b c", 2), "a b");
  EXPECT_EQ(search_words(" \n"), "");
}

TEST(SearchQuery, SnippetsBecomePiecesAndStrayMarksVanish) {
  EXPECT_EQ(split_snippet("a \x01hit\x02 b"),
            (std::vector<search_segment>{{"a ", false}, {"hit", true}, {" b", false}}));
  EXPECT_EQ(split_snippet("\x02x\x01\x01y"),
            (std::vector<search_segment>{{"x", false}, {"y", true}}));
  EXPECT_TRUE(split_snippet("").empty());
}

TEST(Search, FindsWhatTheUserMayReadNewestFirstWithHighlights) {
  search_fixture fx;
  auto alice = fx.sign_in("alice");
  auto bob = fx.sign_in("bob");
  auto carol = fx.sign_in("carol");
  for (auto* u : {&alice, &bob})
    fx.send(*u, {{"type", "join"}, {"room", "plans"}});
  fx.send(carol, {{"type", "join"}, {"room", "elsewhere"}});
  fx.settle();
  fx.say(alice, "plans", "the purple elephant dances at noon");
  fx.settle();
  fx.send(alice, {{"type", "dm"}, {"with", "bob"}, {"text", "a secret PURPLE plan"}});
  fx.settle();

  const json found = fx.search(bob, "purple");
  ASSERT_EQ(found["type"], "search") << found;
  EXPECT_EQ(found["q"], "purple");
  ASSERT_EQ(found["results"].size(), 2u) << found;
  const json& dm = found["results"][0];  // the newest first
  EXPECT_EQ(dm["with"], "alice");
  EXPECT_FALSE(dm.contains("room"));
  EXPECT_EQ(dm["nick"], "alice");
  EXPECT_EQ(dm["id"], 1);
  EXPECT_EQ(joined_text(dm), "a secret PURPLE plan");
  EXPECT_EQ(hits_of(dm), std::vector<std::string>{"PURPLE"});
  const json& room = found["results"][1];
  EXPECT_EQ(room["room"], "plans");
  EXPECT_GT(room["ts"].get<std::int64_t>(), 0);
  EXPECT_EQ(hits_of(room), std::vector<std::string>{"purple"});
  EXPECT_FALSE(found.contains("next"));

  // Carol is in neither the room nor the conversation.
  EXPECT_EQ(fx.search(carol, "purple")["results"].size(), 0u);
  EXPECT_EQ(fx.search(carol, "secret")["results"].size(), 0u);
  fx.send(carol, {{"type", "join"}, {"room", "plans"}});
  fx.settle();
  const json now = fx.search(carol, "purple");
  ASSERT_EQ(now["results"].size(), 1u);
  EXPECT_EQ(now["results"][0]["room"], "plans");
}

TEST(Search, InviteOnlyAndBannedRoomsNeverAnswer) {
  search_fixture fx;
  auto alice = fx.sign_in("alice");
  auto carol = fx.sign_in("carol");
  fx.send(alice, {{"type", "create"}, {"room", "inner"}, {"topic", ""}, {"invite_only", true}});
  fx.send(alice, {{"type", "create"}, {"room", "open"}, {"topic", ""}});
  fx.settle();
  fx.send(alice, {{"type", "join"}, {"room", "inner"}});
  fx.send(alice, {{"type", "join"}, {"room", "open"}});
  fx.send(carol, {{"type", "join"}, {"room", "open"}});
  fx.settle();
  fx.say(alice, "inner", "zebra crossing at the inner circle");
  fx.say(alice, "open", "zebra in the open");
  fx.settle();
  fx.send(carol, {{"type", "join"}, {"room", "inner"}});  // refused: not invited
  fx.settle();
  json found = fx.search(carol, "zebra");
  ASSERT_EQ(found["results"].size(), 1u) << found;
  EXPECT_EQ(found["results"][0]["room"], "open");
  fx.send(alice, {{"type", "ban"}, {"room", "open"}, {"user", "carol"}});
  fx.settle();
  EXPECT_EQ(fx.search(carol, "zebra")["results"].size(), 0u);
  EXPECT_EQ(fx.search(alice, "zebra")["results"].size(), 2u);
}

TEST(Search, AnErasedMessageLeavesTheResultsAndAPrefixMatches) {
  search_fixture fx;
  auto alice = fx.sign_in("alice");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.settle();
  fx.say(alice, "r", "an elephant never forgets");
  fx.say(alice, "r", "the café is open");
  fx.settle();
  EXPECT_EQ(fx.search(alice, "eleph")["results"].size(), 1u);
  EXPECT_EQ(fx.search(alice, "eleph ")["results"].size(), 0u);  // a whole word now
  EXPECT_EQ(fx.search(alice, "cafe")["results"].size(), 1u);    // without its accent
  bool erased = false;
  fx.the_store().erase("r", 1, [&](bool ok, bool found) { erased = ok && found; });
  fx.settle();
  ASSERT_TRUE(erased);
  EXPECT_EQ(fx.search(alice, "elephant")["results"].size(), 0u);
  // An edit (an UPDATE of the text, as issue 14 item 3 makes) is followed by the index too.
  {
    sql::connection db(fx.db_path(), std::chrono::seconds(5));
    db.exec("UPDATE messages SET text = 'the tea room is open' WHERE room = 'r' AND id = 2");
    db.exec("INSERT INTO search_index (search_index, rank) VALUES ('integrity-check', 1)");
  }
  EXPECT_EQ(fx.search(alice, "cafe")["results"].size(), 0u);
  EXPECT_EQ(fx.search(alice, "tea")["results"].size(), 1u);
}

TEST(Search, TypedSyntaxIsOnlyTextAndNeverAnError) {
  search_fixture fx;
  auto alice = fx.sign_in("alice");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.settle();
  fx.say(alice, "r", "NEAR the text: a OR b -c (d) \"quoted\" e*f ^g");
  fx.settle();
  for (const std::string& q : std::vector<std::string>{"\"",
                                                       "\"\"\"",
                                                       "*",
                                                       "NEAR(a b)",
                                                       "text:a",
                                                       "-c",
                                                       "a OR",
                                                       "(",
                                                       ")",
                                                       "^g",
                                                       "a AND",
                                                       "NOT",
                                                       "{text}: a",
                                                       "\"quoted",
                                                       "e*f",
                                                       "ü",
                                                       "🙂",
                                                       "'; DROP TABLE messages; --",
                                                       std::string(256, '"'),
                                                       std::string("a\0b", 3)}) {
    const json r = fx.search(alice, q);
    EXPECT_EQ(r["type"], "search") << q << " -> " << r;
  }
  EXPECT_EQ(fx.search(alice, "\"quoted\"")["results"].size(), 1u);
  EXPECT_EQ(fx.search(alice, "(d)")["results"].size(), 1u);
  EXPECT_EQ(fx.search(alice, "-c")["results"].size(), 1u);  // a word, not an exclusion
}

TEST(Search, PagesGoBackInTimeUntilTheEnd) {
  search_fixture fx;
  auto alice = fx.sign_in("alice");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.settle();
  for (int i = 1; i <= 60; ++i)
    fx.say(alice, "r", "needle number " + std::to_string(i));
  fx.settle();
  const json first = fx.search(alice, "needle");
  ASSERT_EQ(first["results"].size(), 50u);
  EXPECT_EQ(first["results"][0]["id"], 60);
  EXPECT_EQ(first["results"][49]["id"], 11);
  ASSERT_TRUE(first.contains("next"));
  const json second = fx.search(alice, "needle", first["next"].get<std::int64_t>());
  ASSERT_EQ(second["results"].size(), 10u);
  EXPECT_EQ(second["results"][0]["id"], 10);
  EXPECT_EQ(second["results"][9]["id"], 1);
  EXPECT_FALSE(second.contains("next"));
  EXPECT_EQ(second["before"], first["next"]);
}

TEST(Search, BoundsGetClearErrors) {
  hub_limits limits = relaxed();
  limits.search_burst = 3;
  search_fixture fx(limits);
  auto alice = fx.sign_in("alice");
  auto code = [](const json& j) { return j.value("code", std::string()); };
  EXPECT_EQ(code(fx.search(alice, std::string(257, 'a'))), "query_too_long");
  EXPECT_EQ(code(fx.search(alice, " \t ")), "empty_query");
  EXPECT_EQ(fx.search(alice, " \t ")["request"], "search");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(fx.search(alice, "x")["type"], "search");
  EXPECT_EQ(code(fx.search(alice, "x")), "rate_limited");
  fx.now_ms += 10'000;
  EXPECT_EQ(fx.search(alice, "x")["type"], "search");
  // One at a time per session: a second before the first is answered waits its turn.
  fx.now_ms += 10'000;
  fx.send(alice, {{"type", "search"}, {"q", "x"}});
  fx.send(alice, {{"type", "search"}, {"q", "y"}});
  EXPECT_EQ(code(alice.s->last()), "search_busy");
  fx.settle();
  EXPECT_EQ(alice.s->last()["type"], "search");
  fx.the_hub().set_search(nullptr);
  EXPECT_EQ(code(fx.search(alice, "x")), "search_unavailable");
}

TEST(Search, AQueryOverItsBudgetIsStopped) {
  search_fixture fx(unhurried(), std::chrono::milliseconds(0));
  auto alice = fx.sign_in("alice");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.settle();
  for (int i = 0; i < 300; ++i)
    fx.say(alice, "r", "common words in every message " + std::to_string(i));
  fx.settle();
  EXPECT_EQ(fx.search(alice, "common")["code"], "search_timeout");
}

TEST(Search, AFileFromTheVersionBeforeIsSearchableAfterTheUpgrade) {
  search_fixture fx;
  {
    auto alice = fx.sign_in("alice");
    fx.send(alice, {{"type", "join"}, {"room", "r"}});
    fx.settle();
    fx.say(alice, "r", "written before search existed");
    fx.settle();
  }
  {
    sql::connection db(fx.db_path(), std::chrono::seconds(5));
    db.exec(
        "DROP TRIGGER messages_search_insert; DROP TRIGGER messages_search_delete;"
        " DROP TRIGGER messages_search_update; DROP TABLE search_index;"
        " DROP VIEW search_content; DROP TABLE search_keys; PRAGMA user_version = 6;");
    db.exec(
        "INSERT INTO messages (room, id, nick, text, ts) VALUES ('r', 2, 'alice',"
        " 'also from before', 1700000000500)");
  }
  fx.open(unhurried());
  fx.attach_search();
  auto alice = fx.sign_in("alice");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.settle();
  fx.say(alice, "r", "and after, before too");
  fx.settle();
  const json found = fx.search(alice, "before");
  ASSERT_EQ(found["results"].size(), 3u) << found;
  EXPECT_EQ(found["results"][0]["id"], 3);
  EXPECT_EQ(found["results"][2]["id"], 1);
}

TEST(Around, AWindowOfTheFeedAroundAnId) {
  search_fixture fx;
  auto alice = fx.sign_in("alice");
  auto bob = fx.sign_in("bob");
  auto carol = fx.sign_in("carol");
  fx.send(alice, {{"type", "join"}, {"room", "r"}});
  fx.settle();
  for (int i = 1; i <= 80; ++i)
    fx.say(alice, "r", "line " + std::to_string(i));
  fx.send(alice, {{"type", "dm"}, {"with", "bob"}, {"text", "just us"}});
  fx.settle();
  fx.send(alice, {{"type", "around"}, {"room", "r"}, {"id", 40}});
  fx.settle();
  json w = alice.s->last();
  ASSERT_EQ(w["type"], "around") << w;
  EXPECT_EQ(w["room"], "r");
  EXPECT_EQ(w["id"], 40);
  ASSERT_EQ(w["messages"].size(), 51u);
  EXPECT_EQ(w["messages"][0]["id"], 15);
  EXPECT_EQ(w["messages"][50]["id"], 65);
  EXPECT_FALSE(w.contains("start"));
  EXPECT_FALSE(w.contains("latest"));
  // Newer ones, up to the latest; older ones, down to the beginning.
  fx.send(alice, {{"type", "around"}, {"room", "r"}, {"id", 66}, {"before", 0}, {"after", 50}});
  fx.settle();
  w = alice.s->last();
  ASSERT_EQ(w["messages"].size(), 15u);
  EXPECT_EQ(w["messages"][0]["id"], 66);
  EXPECT_EQ(w["latest"], true);
  fx.send(alice, {{"type", "around"}, {"room", "r"}, {"id", 3}, {"before", 9}, {"after", 0}});
  fx.settle();
  w = alice.s->last();
  ASSERT_EQ(w["messages"].size(), 3u);
  EXPECT_EQ(w["start"], true);
  // Only where the asker may read.
  fx.send(carol, {{"type", "around"}, {"room", "r"}, {"id", 40}});
  fx.settle();
  EXPECT_EQ(carol.s->last()["code"], "not_joined");
  EXPECT_EQ(carol.s->last()["request"], "around");
  fx.send(bob, {{"type", "around"}, {"with", "alice"}, {"id", 1}});
  fx.settle();
  ASSERT_EQ(bob.s->last()["type"], "around");
  EXPECT_EQ(bob.s->last()["with"], "alice");
  ASSERT_EQ(bob.s->last()["messages"].size(), 1u);
  EXPECT_EQ(bob.s->last()["messages"][0]["text"], "just us");
  fx.send(carol, {{"type", "around"}, {"with", "alice"}, {"id", 1}});  // her own, empty
  fx.settle();
  EXPECT_EQ(carol.s->last()["messages"].size(), 0u);
  fx.send(alice, {{"type", "around"}, {"room", "r"}});
  EXPECT_EQ(alice.s->last()["code"], "invalid_id");
}

}  // namespace
}  // namespace duplex::chat::test
