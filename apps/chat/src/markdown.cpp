#include "markdown.hpp"

#include <md4c.h>

#include <string>
#include <vector>

namespace duplex::chat::markdown {
namespace {

using json = nlohmann::json;

// Raw HTML is never recognised, so `<img onerror=...>` stays text. Permissive autolinks: a bare
// URL or address pasted into chat is meant as a link. No tables or task lists: not in the subset.
constexpr unsigned parser_flags = MD_FLAG_NOHTML | MD_FLAG_STRIKETHROUGH |
                                  MD_FLAG_PERMISSIVEURLAUTOLINKS |
                                  MD_FLAG_PERMISSIVEEMAILAUTOLINKS | MD_FLAG_PERMISSIVEWWWAUTOLINKS;
// A fence's language is a label: a longer one is dropped rather than shown cut.
constexpr std::size_t max_lang_bytes = 32;
constexpr const char* replacement = "\xEF\xBF\xBD";

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    out += replacement;  // what HTML makes of a code point that cannot be a character
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// An entity as md4c reports it (`&name;`, `&#123;`, `&#x1F600;`). Numeric ones and the few
// named ones people type are decoded; any other name stays as typed, which is still only text.
std::string decode_entity(std::string_view e) {
  std::string out;
  if (e.size() >= 4 && e[1] == '#') {
    const bool hex = e[2] == 'x' || e[2] == 'X';
    std::uint32_t cp = 0;
    for (char ch : e.substr(hex ? 3 : 2, e.size() - (hex ? 4 : 3))) {
      const int d = ch >= '0' && ch <= '9'          ? ch - '0'
                    : hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                    : -1;
      if (d < 0) return std::string(e);
      cp = cp > 0x10FFFF ? cp : cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
    }
    append_utf8(out, cp);
    return out;
  }
  if (e == "&amp;") return "&";
  if (e == "&lt;") return "<";
  if (e == "&gt;") return ">";
  if (e == "&quot;") return "\"";
  if (e == "&apos;") return "'";
  if (e == "&nbsp;") return "\xC2\xA0";
  return std::string(e);
}

// An attribute (a link's target, a fence's language) with its entities decoded.
std::string attribute_text(const MD_ATTRIBUTE& a) {
  std::string out;
  for (std::size_t i = 0; a.size != 0 && a.substr_offsets[i] < a.size; ++i) {
    const auto begin = a.substr_offsets[i];
    const std::string_view part(a.text + begin, a.substr_offsets[i + 1] - begin);
    if (a.substr_types[i] == MD_TEXT_ENTITY)
      out += decode_entity(part);
    else if (a.substr_types[i] == MD_TEXT_NULLCHAR)
      out += replacement;
    else
      out += part;
  }
  return out;
}

// Builds the tree from md4c's events. A node is open on `stack_` until its end; an event that
// makes no node (a heading's span, a refused link, anything past the depth limit) is "flat":
// its text goes to the node open around it.
class builder {
 public:
  explicit builder(const limits& lim) : lim_(lim) { stack_.push_back({{"c", json::array()}}); }

  // Returns md4c's "go on" (0) or "stop" (1, the node limit is reached).
  int enter(json node, bool make) {
    make = make && stack_.size() <= lim_.max_depth;
    made_.push_back(make);
    if (!make) return 0;
    if (!count()) {
      // Past the node limit no node opens, so its leave must not close one: md4c may go on
      // calling leave after a "stop" (a code span does), and closing here popped the parent.
      made_.back() = false;
      return 1;
    }
    node["c"] = json::array();
    stack_.push_back(std::move(node));
    return 0;
  }
  int leave(bool block) {
    if (made_.empty()) return 0;
    const bool made = made_.back();
    made_.pop_back();
    if (!made) return block ? separate() : 0;
    if (stack_.size() < 2) return 1;  // never the document itself
    json node = std::move(stack_.back());
    stack_.pop_back();
    children().push_back(std::move(node));
    return 0;
  }
  int text(std::string_view s) {
    auto& c = children();
    if (!c.empty() && c.back().is_string()) {
      c.back().get_ref<std::string&>() += s;
      return 0;
    }
    if (!count()) return 1;
    c.push_back(std::string(s));
    return 0;
  }
  int line_break() {
    if (!count()) return 1;
    children().push_back({{"t", "br"}});
    return 0;
  }
  json take() { return std::move(stack_.front()["c"]); }
  // md4c does not pass a callback's "stop" back out of every path: the builder remembers it.
  bool stopped() const { return nodes_ > lim_.max_nodes; }

 private:
  json& children() { return stack_.back()["c"]; }
  bool count() { return ++nodes_ <= lim_.max_nodes; }
  // A flattened block ends: a line break keeps it apart from what follows.
  int separate() {
    const auto& c = children();
    if (c.empty() || (c.back().is_object() && c.back().value("t", "") == "br")) return 0;
    return line_break();
  }

  const limits& lim_;
  std::vector<json> stack_;  // [0]: the document
  std::vector<bool> made_;   // per event entered: whether it opened a node
  std::size_t nodes_ = 0;
};

builder& of(void* user) {
  return *static_cast<builder*>(user);
}

int enter_block(MD_BLOCKTYPE type, void* detail, void* user) try {
  auto& b = of(user);
  switch (type) {
    case MD_BLOCK_DOC:
      return 0;  // the root, always there
    case MD_BLOCK_QUOTE:
      return b.enter({{"t", "blockquote"}}, true);
    case MD_BLOCK_UL:
      return b.enter({{"t", "ul"}}, true);
    case MD_BLOCK_OL: {
      json node{{"t", "ol"}};
      const unsigned start = static_cast<MD_BLOCK_OL_DETAIL*>(detail)->start;
      if (start != 1) node["start"] = start;
      return b.enter(std::move(node), true);
    }
    case MD_BLOCK_LI:
      return b.enter({{"t", "li"}}, true);
    case MD_BLOCK_CODE: {
      json node{{"t", "pre"}};
      const auto lang = attribute_text(static_cast<MD_BLOCK_CODE_DETAIL*>(detail)->lang);
      if (!lang.empty() && lang.size() <= max_lang_bytes) node["lang"] = lang;
      return b.enter(std::move(node), true);
    }
    case MD_BLOCK_HR:  // what was typed, as a paragraph: a rule is not in the subset
      if (int stop = b.enter({{"t", "p"}}, true)) return stop;
      if (int stop = b.text("---")) return stop;
      return 0;
    default:  // paragraphs; headings and anything else become paragraphs of their text
      return b.enter({{"t", "p"}}, true);
  }
} catch (...) {
  return 1;
}

int leave_block(MD_BLOCKTYPE type, void*, void* user) try {
  return type == MD_BLOCK_DOC ? 0 : of(user).leave(true);
} catch (...) {
  return 1;
}

int enter_span(MD_SPANTYPE type, void* detail, void* user) try {
  auto& b = of(user);
  switch (type) {
    case MD_SPAN_EM:
      return b.enter({{"t", "em"}}, true);
    case MD_SPAN_STRONG:
      return b.enter({{"t", "strong"}}, true);
    case MD_SPAN_DEL:
      return b.enter({{"t", "del"}}, true);
    case MD_SPAN_CODE:
      return b.enter({{"t", "code"}}, true);
    case MD_SPAN_A: {
      auto href = attribute_text(static_cast<MD_SPAN_A_DETAIL*>(detail)->href);
      // A bare www. address (permissive autolink) comes without its scheme.
      if (href.starts_with("www.")) href.insert(0, "http://");
      const bool ok = allowed_href(href);
      return b.enter({{"t", "a"}, {"href", ok ? href : std::string()}}, ok);
    }
    default:  // an image shows its description as text; other spans are not in the subset
      return b.enter({}, false);
  }
} catch (...) {
  return 1;
}

int leave_span(MD_SPANTYPE, void*, void* user) try { return of(user).leave(false); } catch (...) {
  return 1;
}

int on_text(MD_TEXTTYPE type, const MD_CHAR* text, MD_SIZE size, void* user) try {
  auto& b = of(user);
  const std::string_view s(text, size);
  switch (type) {
    // A single newline is a line break: chat users expect pasted lines to stay lines.
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
      return b.line_break();
    case MD_TEXT_NULLCHAR:
      return b.text(replacement);
    case MD_TEXT_ENTITY:
      return b.text(decode_entity(s));
    default:
      return b.text(s);  // normal, code, and (never with NOHTML) html: all only text
  }
} catch (...) {
  return 1;
}

// Whether the tree is one paragraph that says exactly `text`: then it adds nothing.
bool plain(const json& doc, std::string_view text) {
  if (doc.size() != 1 || doc[0].value("t", "") != "p") return false;
  std::string flat;
  for (const auto& c : doc[0]["c"]) {
    if (c.is_string())
      flat += c.get_ref<const std::string&>();
    else if (c.value("t", "") == "br")
      flat += '\n';
    else
      return false;
  }
  return flat == text;
}

}  // namespace

bool allowed_href(std::string_view href) noexcept {
  for (const char ch : href)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7F) return false;
  auto starts = [&](std::string_view scheme) {
    if (href.size() < scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
      char ch = href[i];
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      if (ch != scheme[i]) return false;
    }
    return true;
  };
  return starts("http:") || starts("https:") || starts("mailto:");
}

std::optional<nlohmann::json> render(std::string_view text, const limits& lim) {
  if (text.size() >= 0xFFFF'FFFFu) return std::nullopt;  // md4c's sizes are 32 bits
  try {
    builder b(lim);
    MD_PARSER parser{};
    parser.flags = parser_flags;
    parser.enter_block = enter_block;
    parser.leave_block = leave_block;
    parser.enter_span = enter_span;
    parser.leave_span = leave_span;
    parser.text = on_text;
    // md4c 0.4.8 (Debian 12) reads past the end of a text that ends inside a link's target
    // (`[x](http://a`): valgrind sees it use bytes that are not the message's, and under the
    // fuzzer it made a 3 GB text. A final line break (which CommonMark ignores) ends the scan
    // inside the text, and std::string's terminating NUL stands behind it.
    const std::string terminated = std::string(text) + '\n';
    if (md_parse(terminated.data(), static_cast<MD_SIZE>(terminated.size()), &parser, &b) != 0 ||
        b.stopped())
      return std::nullopt;
    json doc = b.take();
    if (doc.empty() || plain(doc, text)) return std::nullopt;
    return doc;
  } catch (...) {
    return std::nullopt;  // memory: the text alone still shows
  }
}

}  // namespace duplex::chat::markdown
