// Messages' formatting: each allowed node, links only for http(s)/mailto, raw HTML as text, lines
// kept, and the depth and node limits that bound what a hostile message costs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "src/markdown.hpp"
#include "src/wire.hpp"

namespace duplex::chat::test {
namespace {

using json = nlohmann::json;
namespace md = markdown;

json tree(std::string_view text) {
  auto t = md::render(text);
  return t ? *t : json();
}

// Visits every node of a tree (strings included).
void walk(const json& nodes, const std::function<void(const json&)>& f) {
  for (const auto& n : nodes) {
    f(n);
    if (n.is_object() && n.contains("c")) walk(n["c"], f);
  }
}

std::size_t count_tag(const json& t, std::string_view tag) {
  std::size_t n = 0;
  walk(t, [&](const json& x) { n += x.is_object() && x.value("t", "") == tag; });
  return n;
}

std::size_t depth(const json& nodes) {
  std::size_t d = 0;
  for (const auto& n : nodes)
    if (n.is_object() && n.contains("c")) d = std::max(d, 1 + depth(n["c"]));
  return d;
}

std::string all_text(const json& nodes) {
  std::string out;
  walk(nodes, [&](const json& x) {
    if (x.is_string()) out += x.get<std::string>();
  });
  return out;
}

TEST(Markdown, PlainTextNeedsNoTree) {
  EXPECT_FALSE(md::render("hello there"));
  EXPECT_FALSE(md::render("two\nlines"));
  EXPECT_FALSE(md::render(""));
}

TEST(Markdown, EachLineStaysALine) {
  EXPECT_EQ(tree("one *two*\nthree\nfour"),
            json::parse(R"([{"t":"p","c":["one ",{"t":"em","c":["two"]},{"t":"br"},"three",
                           {"t":"br"},"four"]}])"));
}

TEST(Markdown, EmphasisStrongStrikethroughCode) {
  EXPECT_EQ(tree("*a* **b** ~~c~~ `d<e>`"),
            json::parse(R"([{"t":"p","c":[{"t":"em","c":["a"]}," ",{"t":"strong","c":["b"]}," ",
                           {"t":"del","c":["c"]}," ",{"t":"code","c":["d<e>"]}]}])"));
}

TEST(Markdown, CodeBlockKeepsItsTextAndLanguage) {
  EXPECT_EQ(tree("```js\nlet a = 1;\n  <b>\n```"),
            json::parse(R"([{"t":"pre","lang":"js","c":["let a = 1;\n  <b>\n"]}])"));
  EXPECT_EQ(tree("```\nx\n```"), json::parse(R"([{"t":"pre","c":["x\n"]}])"));
  // A language too long to be a label is dropped, the code stays.
  EXPECT_EQ(tree("```" + std::string(40, 'l') + "\nx\n```"),
            json::parse(R"([{"t":"pre","c":["x\n"]}])"));
}

TEST(Markdown, QuotesAndLists) {
  EXPECT_EQ(tree("> quoted\n\n- a\n- b\n\n3. c\n4. d"), json::parse(R"([
    {"t":"blockquote","c":[{"t":"p","c":["quoted"]}]},
    {"t":"ul","c":[{"t":"li","c":["a"]},{"t":"li","c":["b"]}]},
    {"t":"ol","start":3,"c":[{"t":"li","c":["c"]},{"t":"li","c":["d"]}]}])"));
  EXPECT_FALSE(tree("1. one").at(0).contains("start"));  // 1, the default, is not said
}

TEST(Markdown, LinksForHttpHttpsAndMailto) {
  EXPECT_EQ(tree("[site](https://example.com/a?b=1&amp;c)"),
            json::parse(R"([{"t":"p","c":[{"t":"a","href":"https://example.com/a?b=1&c",
                           "c":["site"]}]}])"));
  const auto auto_links = tree("see http://a.example/x and www.b.example, or ann@c.example");
  std::vector<std::string> hrefs;
  walk(auto_links, [&](const json& n) {
    if (n.is_object() && n.value("t", "") == "a") hrefs.push_back(n["href"]);
  });
  EXPECT_EQ(hrefs, (std::vector<std::string>{"http://a.example/x", "http://www.b.example",
                                             "mailto:ann@c.example"}));
  EXPECT_EQ(count_tag(tree("[m](MAILTO:x@y.example) [h](HTTPS://Y.example)"), "a"), 2u);
}

TEST(Markdown, HostileLinksBecomeText) {
  for (const char* text :
       {"[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](&#106;avascript:alert(1))",
        "[x](java&#x09;script:alert(1))", "[x](javascript&colon;alert(1))",
        "[x](<java script:alert(1)>)", "[x]( javascript:alert(1))", "[x](data:text/html,<script>)",
        "[x](vbscript:msgbox)", "[x](/relative/path)", "[x](//evil.example)",
        "<javascript:alert(1)>", "[x](file:///etc/passwd)", "[x][r]\n\n[r]: javascript:alert(1)"}) {
    const auto t = tree(text);
    EXPECT_EQ(count_tag(t, "a"), 0u) << text << " -> " << t.dump();
    EXPECT_NE(all_text(t).find_first_of("xa"), std::string::npos) << text;  // the words stay
  }
  EXPECT_FALSE(md::allowed_href("https://a.example/ b"));
  EXPECT_FALSE(md::allowed_href("http:\x01//a"));
  EXPECT_FALSE(md::allowed_href("http"));
  EXPECT_TRUE(md::allowed_href("HtTp://a"));
}

TEST(Markdown, RawHtmlIsText) {
  const auto t = tree("<img src=x onerror=alert(1)> and <b>bold</b>\n\n<script>x()</script>");
  EXPECT_EQ(all_text(t), "<img src=x onerror=alert(1)> and <b>bold</b><script>x()</script>");
  walk(t, [](const json& n) {
    if (n.is_object()) {
      EXPECT_NE(n.value("t", ""), "img");
    }
  });
}

TEST(Markdown, HeadingsImagesAndTablesAreTheirText) {
  EXPECT_EQ(tree("# Title"), json::parse(R"([{"t":"p","c":["Title"]}])"));
  EXPECT_EQ(tree("![a cat](https://x.example/cat.png)"),
            json::parse(R"([{"t":"p","c":["a cat"]}])"));
  EXPECT_FALSE(md::render("| a | b |\n|---|---|\n| 1 | 2 |"));  // shown as typed
}

TEST(Markdown, EntitiesDecodeToText) {
  EXPECT_EQ(tree("&lt;b&gt; &#x1F600; &#0; &copy;"),
            json::parse(R"([{"t":"p","c":["<b> 😀 \ufffd &copy;"]}])"));
}

TEST(Markdown, DeepNestingFlattensWithinTheLimit) {
  const std::string quotes = std::string(200, '>') + " deep";
  const auto t = tree(quotes);
  EXPECT_EQ(depth(t), md::limits{}.max_depth);
  EXPECT_EQ(all_text(t), "deep");
  std::string lists;
  for (int i = 0; i < 40; ++i)
    lists += std::string(static_cast<std::size_t>(i) * 2, ' ') + "- item\n";
  const auto l = tree(lists);
  EXPECT_LE(depth(l), md::limits{}.max_depth);
  std::size_t items = 0;
  for (std::size_t at = 0; (at = all_text(l).find("item", at)) != std::string::npos; ++at)
    ++items;
  EXPECT_EQ(items, 40u);  // nothing lost past the limit: it is text in the deepest node
  const auto em = tree(std::string(100, '*') + "x" + std::string(100, '*'));
  EXPECT_LE(depth(em), md::limits{}.max_depth);
}

TEST(Markdown, TooManyNodesIsPlainText) {
  std::string many;
  for (int i = 0; i < 600; ++i)
    many += "*a* ";
  EXPECT_FALSE(md::render(many));
  EXPECT_TRUE(md::render(many, {16, 2000}));
  EXPECT_TRUE(md::render("*a* *b*", {16, 6}));  // p, em, a, space, em, b
  EXPECT_FALSE(md::render("*a* *b*", {16, 5}));
}

// Found by the markdown fuzzer: the node limit reached on entering a span, then md4c leaving it
// anyway (it goes on after a code span's "stop"); the leave closed the span's parent and then
// read before the builder's stack. Under ASan this failed with a heap-buffer-overflow.
TEST(Markdown, TheNodeLimitReachedInsideSpansClosesNothingTwice) {
  const std::string text =
      "se *g*a* *b* *c* *d* *e* *f* *g* *h** *t* *u* *: wv**`*xe w\xD5ww.exq* ol*mple.com, "
      "http://a.eexa-66y* ";
  EXPECT_FALSE(md::render(text, {3, 40}));
  std::string many;
  for (int i = 0; i < 300; ++i)
    many += "*a* **b`c` *d*";
  EXPECT_FALSE(md::render(many));
}

TEST(Markdown, HostileMessageOfMaxSizeIsBounded) {
  // Every shape at 64 KiB (the largest --message-bytes): bounded nodes, bounded depth.
  for (const std::string unit : {"> ", "- ", "*", "[", "`", "&#1;", "<a>", "\n", "~~a~~"}) {
    std::string text;
    while (text.size() + unit.size() <= 65'536)
      text += unit;
    text += "x";
    const auto t = md::render(text);
    if (!t) continue;
    std::size_t nodes = 0;
    walk(*t, [&](const json&) { ++nodes; });
    EXPECT_LE(nodes, md::limits{}.max_nodes) << unit;
    EXPECT_LE(depth(*t), md::limits{}.max_depth) << unit;
  }
}

TEST(Markdown, TreeBytesStayWithinTwiceTheTextPlus16KiB) {
  // The shapes that cost the most bytes per byte of text, just under the node limit and past it.
  const std::string long_link =
      "[" + std::string(300, 'a') + "](http://" + std::string(900, 'b') + ") ";
  for (const std::string& unit : std::vector<std::string>{"*a* ", "- a\n", "[a](http://b) ",
                                                          "www.a.b ", "> a\n\n", long_link}) {
    for (std::size_t n = 1; n <= 600; n += 7) {
      std::string text;
      for (std::size_t i = 0; i < n && text.size() + unit.size() <= 65'536; ++i)
        text += unit;
      if (const auto t = md::render(text)) {
        EXPECT_LE(t->dump().size(), 2 * text.size() + 16 * 1024) << unit << " x" << n;
      }
    }
  }
}

TEST(Markdown, InvalidUtf8NeverReachesThePageRaw) {
  // The WebSocket layer refuses a text frame that is not UTF-8, so a say cannot carry it; a
  // store that did would still come out as U+FFFD, formatted or not.
  const stored_message bad{"r", 1, "n", std::string("*\xFF*", 3), 0};
  const json out = json::parse(wire::message(bad));
  EXPECT_EQ(out["md"], json::parse(R"([{"t":"p","c":[{"t":"em","c":["\ufffd"]}]}])"));
}

TEST(Markdown, EveryEntryCarriesItsFormatting) {
  const stored_message m{"r", 3, "ann", "**hi**", 1234};
  const json expected = json::parse(R"([{"t":"p","c":[{"t":"strong","c":["hi"]}]}])");
  EXPECT_EQ(json::parse(wire::message(m))["md"], expected);
  EXPECT_EQ(json::parse(wire::dm("bob", m))["md"], expected);
  EXPECT_EQ(json::parse(wire::history_page("r", {m}, 9))["messages"][0]["md"], expected);
  EXPECT_EQ(json::parse(wire::conversation({"bob", 3, {}}, {m}, false))["messages"][0]["md"],
            expected);
  const stored_message plain{"r", 4, "ann", "hi", 1234};
  EXPECT_FALSE(json::parse(wire::message(plain)).contains("md"));
}

}  // namespace
}  // namespace duplex::chat::test
