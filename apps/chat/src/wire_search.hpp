// Search and "open in context" on the wire (docs/chat-protocol.md, "Search").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "search.hpp"
#include "store.hpp"

namespace duplex::chat::wire {

// Where a result or a window of messages is, as its reader names it: a room ("room") or a
// conversation named by the other user ("with").
struct feed_name {
  std::string field;  // "room" or "with"
  std::string name;
};

struct search_result {
  feed_name where;
  search_hit hit;
};
// `before`: the page's cursor as asked (0: the first page); `next`: the cursor of the page
// after this one, 0 when there is none.
std::string search_results(std::string_view q, const std::vector<search_result>& results,
                           std::int64_t before, std::int64_t next);
// The messages of a feed around `id`; `start`: nothing older exists, `latest`: nothing newer.
std::string around(const feed_name& where, std::int64_t id,
                   const std::vector<stored_message>& messages, bool start, bool latest);
// An error about a request that is neither a room's nor a conversation's: `request` is its
// type ("search", "around"), so that the page tells it from the others.
std::string request_error(std::string_view request, std::string_view code,
                          std::string_view message);

}  // namespace duplex::chat::wire
