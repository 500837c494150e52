// Search over every feed a user may read, and the messages around one (docs/chat-protocol.md,
// "Search"): the rooms the session is in or the user is a member of (never one it is banned
// from), and the user's own conversations.
#include <algorithm>
#include <cstdio>

#include "conversations.hpp"
#include "hub.hpp"
#include "names.hpp"
#include "wire_search.hpp"

namespace duplex::chat {

std::map<std::string, std::pair<std::string, std::string>> hub::readable_feeds(client& c) {
  std::set<std::string> rooms(c.rooms.begin(), c.rooms.end());
  user* u = user_of(c);
  const bool member = u != nullptr && u->signed_in;
  std::map<std::string, std::pair<std::string, std::string>> out;
  try {
    if (member)
      for (auto& name : dir_.rooms_of(c.user))
        rooms.insert(std::move(name));
    for (const auto& name : rooms)
      if (!dir_.banned(name, c.user)) out.emplace(name, std::pair{"room", name});
  } catch (const std::exception& e) {
    // The directory's file is unreadable: the rooms of this session, which it was let into.
    std::fprintf(stderr, "duplex-chat: search without the room directory: %s\n", e.what());
    for (const auto& name : c.rooms)
      out.emplace(name, std::pair{"room", name});
  }
  if (member)
    for (const auto& [key, peer] : u->priv.peers)
      out.emplace(peer.feed, std::pair{"with", peer.name});
  return out;
}

void hub::on_search(client& c, const request& r) {
  auto refuse = [&](std::string_view code, std::string_view why) {
    ++counters_.errors;
    send(c, wire::request_error("search", code, why));
  };
  if (search_ == nullptr)
    return refuse("search_unavailable", "search needs the SQLite history (one node)");
  const std::string q = r.str("q");
  if (q.size() > limits_.max_query_bytes)
    return refuse("query_too_long",
                  "at most " + std::to_string(limits_.max_query_bytes) + " bytes");
  std::string match = fts_query(q, limits_.max_query_terms);
  if (match.empty()) return refuse("empty_query", "type a word to look for");
  if (c.searching) return refuse("search_busy", "one search at a time");
  if (!c.searches) c.searches.emplace(limits_.searches_per_second, limits_.search_burst, now_());
  if (c.searches->take(now_()) != token_bucket::verdict::pass) {
    ++counters_.rate_limited;
    return refuse("rate_limited", "too many searches: wait a little");
  }
  const std::int64_t before = std::max<std::int64_t>(r.integer("before"), 0);
  auto feeds = readable_feeds(c);
  search_request req{
      std::move(match), search_words(q, limits_.max_query_terms), {}, before, limits_.search_page};
  for (const auto& [feed, name] : feeds)
    req.feeds.push_back(feed);
  c.searching = true;
  search_->find(std::move(req), [this, id = c.id, q, before, limit = limits_.search_page,
                                 feeds = std::move(feeds)](search_status status,
                                                           std::vector<search_hit> hits) {
    client* cl = find_client(id);
    if (cl == nullptr) return;
    cl->searching = false;
    auto fail = [&](std::string_view code, std::string_view why) {
      ++counters_.errors;
      send(*cl, wire::request_error("search", code, why));
    };
    if (status == search_status::busy) return fail("search_busy", "the server is busy: try again");
    if (status == search_status::timeout)
      return fail("search_timeout", "the words match too much: add one");
    if (status != search_status::ok) return fail("store_failed", "search is unavailable");
    std::vector<wire::search_result> results;
    for (auto& h : hits) {
      auto it = feeds.find(h.feed);
      if (it == feeds.end()) continue;  // never happens: the index was told the feeds
      results.push_back({{it->second.first, it->second.second}, std::move(h)});
    }
    const std::int64_t next = hits.size() >= limit && !hits.empty() ? hits.back().key : 0;
    send(*cl, wire::search_results(q, results, before, next));
  });
}

// ----- messages around one: a result opened in its room or conversation

void hub::on_around(client& c, const request& r) {
  auto refuse = [&](std::string_view code, std::string_view why) {
    ++counters_.errors;
    send(c, wire::request_error("around", code, why));
  };
  const std::int64_t id = r.integer("id");
  if (id < 1) return refuse("invalid_id", "id is a message's id");
  const auto side = [&](const char* key) {
    const std::int64_t n = r.integer(key);
    return n < 0 ? static_cast<std::int64_t>(limits_.around_side)
                 : std::min<std::int64_t>(n, static_cast<std::int64_t>(limits_.max_around_side));
  };
  if (!r.str("with").empty()) {
    user* me = signed_in_user(c);
    if (me == nullptr) return;
    auto peer = peer_of(c, *me, r);
    if (!peer) return;
    return send_around(c.id, "with", peer->name, conversations::feed_of(c.user, peer->key), id,
                       side("before"), side("after"));
  }
  const std::string name = names::room_key(r.str("room"));
  if (!readable_feeds(c).contains(name)) return refuse("not_joined", "join the room first");
  send_around(c.id, "room", name, name, id, side("before"), side("after"));
}

// The window [id - before, id + after], cut at the newest message: its last id comes first,
// then the messages up to it.
void hub::send_around(std::uint64_t client_id, std::string field, std::string name,
                      std::string feed, std::int64_t id, std::int64_t before, std::int64_t after) {
  auto fail = [this, client_id] {
    if (client* cl = find_client(client_id)) {
      ++counters_.errors;
      send(*cl, wire::request_error("around", "store_failed", "history is unavailable"));
    }
  };
  const std::int64_t low = std::max<std::int64_t>(id - before - 1, 0);  // exclusive
  store_.last_id(feed, [=, this, field = std::move(field), name = std::move(name)](
                           bool ok, std::int64_t last) {
    if (!ok) return fail();
    const std::int64_t high = std::min(id + after, last);
    if (high <= low) {
      if (client* cl = find_client(client_id))
        send(*cl, wire::around({field, name}, id, {}, low == 0, true));
      return;
    }
    store_.range(feed, low, high, static_cast<std::size_t>(high - low),
                 [=, this](bool read, std::vector<stored_message> msgs) {
                   if (!read) return fail();
                   client* cl = find_client(client_id);
                   if (cl == nullptr) return;
                   // Older ids that are missing were pruned: the feed begins here.
                   const bool start = low == 0 || msgs.empty() || msgs.front().id > low + 1;
                   send(*cl, wire::around({field, name}, id, msgs, start, high >= last));
                 });
  });
}

}  // namespace duplex::chat
