#include "wire_search.hpp"

#include "wire.hpp"

namespace duplex::chat::wire {

using json = nlohmann::json;

std::string search_results(std::string_view q, const std::vector<search_result>& results,
                           std::int64_t before, std::int64_t next) {
  json list = json::array();
  for (const auto& r : results) {
    json snippet = json::array();
    for (const auto& s : r.hit.snippet)
      snippet.push_back(json::array({s.text, s.hit}));
    json one{{r.where.field, r.where.name},
             {"id", r.hit.id},
             {"ts", r.hit.ts_ms},
             {"snippet", std::move(snippet)}};
    const auto who = shown(r.hit.nick);
    one["nick"] = who.nick;
    if (who.guest) one["guest"] = true;
    list.push_back(std::move(one));
  }
  json out{{"type", "search"}, {"q", q}, {"results", std::move(list)}};
  if (before > 0) out["before"] = before;
  if (next > 0) out["next"] = next;
  return to_wire(out);
}

// The messages are written as a history page writes them (wire.cpp, wire_private.cpp), so
// that what a history entry carries (and will carry) a window carries too.
std::string around(const feed_name& where, std::int64_t id,
                   const std::vector<stored_message>& messages, bool start, bool latest) {
  json out = json::parse(where.field == "room" ? history_page(where.name, messages, 0, start)
                                               : conversation_page(where.name, messages, 0, start),
                         nullptr, false);
  if (!out.is_object()) out = json{{"messages", json::array()}};
  out["type"] = "around";
  out.erase("before");
  out[where.field] = where.name;
  out["id"] = id;
  if (latest) out["latest"] = true;
  return to_wire(out);
}

std::string request_error(std::string_view request, std::string_view code,
                          std::string_view message) {
  return to_wire({{"type", "error"}, {"code", code}, {"message", message}, {"request", request}});
}

}  // namespace duplex::chat::wire
