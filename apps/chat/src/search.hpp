// Full-text search of messages: what the hub asks a search backend, what it gets back, and the
// translation of what a user typed into a query that cannot be anything but plain words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::chat {

// A piece of a snippet: matched words are `hit`. Clients get pieces, never markup.
struct search_segment {
  std::string text;
  bool hit = false;
  bool operator==(const search_segment&) const = default;
};

struct search_hit {
  std::int64_t key = 0;  // the result's place in the index: the next page is `before` it
  std::string feed;      // a room's name or a conversation's feed (conversations.hpp)
  std::int64_t id = 0;
  std::string nick;  // carried form (wire::guest_name)
  std::int64_t ts_ms = 0;
  std::vector<search_segment> snippet;
};

struct search_request {
  std::string match;               // an FTS5 query made by fts_query, never the user's text
  std::string words;               // the same words, as search_words gives them (PostgreSQL)
  std::vector<std::string> feeds;  // the only feeds results may come from
  std::int64_t before_key = 0;     // 0: from the newest
  std::size_t limit = 50;
};

enum class search_status : std::uint8_t {
  ok,
  busy,     // too many searches waiting: try again
  timeout,  // took longer than the backend allows: the words match too much
  failed,   // the index could not be read
};

// Answers run on the hub's thread, possibly before find() returns (a refusal).
class message_search {
 public:
  virtual ~message_search() = default;
  // Newest first (by key), at most `limit`, only from `feeds`.
  virtual void find(search_request r,
                    std::function<void(search_status, std::vector<search_hit>)> done) = 0;
};

// The words of `typed` (split at spaces and controls), each quoted as an FTS5 string so that
// quotes, `*`, `-`, `:`, NEAR, AND, OR, NOT and parentheses are only characters; the last word
// also matches as a prefix unless `typed` ends with a space. At most `max_terms` words (the
// first ones). Empty when there is no word.
std::string fts_query(std::string_view typed, std::size_t max_terms = 16);

// The words of `typed` as fts_query splits them, joined by single spaces, unquoted: for a
// backend whose own function reads plain text (PostgreSQL's plainto_tsquery).
std::string search_words(std::string_view typed, std::size_t max_terms = 16);

// A snippet marked with `open` and `close` bytes around matches, as pieces. Stray marks are
// dropped, so any input gives pieces whose texts, joined, are the input without its marks.
std::vector<search_segment> split_snippet(std::string_view marked, char open = '\x01',
                                          char close = '\x02');

}  // namespace duplex::chat
