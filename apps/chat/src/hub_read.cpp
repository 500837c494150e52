// Read marks (issue 11, item 7): the last message a signed-in user has read in each room and
// conversation. Kept in the store, loaded with the user's first session, and the same on every
// session of the user: a change goes to all of them through the user's topic.
#include <algorithm>

#include "conversations.hpp"
#include "hub.hpp"
#include "names.hpp"

namespace duplex::chat {

std::int64_t hub::last_read(const user& u, const std::string& feed) const {
  auto it = u.priv.read.find(feed);
  return it == u.priv.read.end() ? 0 : it->second;
}

// `read {room, id}` or `read {with, id}`: only ids the user can have seen, that is messages
// delivered so far.
void hub::on_read(client& c, const request& r) {
  user* me = signed_in_user(c);
  if (me == nullptr) return;
  const std::int64_t id = r.integer("id");
  if (!r.str("with").empty()) {
    auto peer = peer_of(c, *me, r);
    if (!peer) return;
    auto it = me->priv.peers.find(peer->key);
    if (it == me->priv.peers.end()) {
      ++counters_.errors;
      return send(c,
                  wire::dm_error("no_such_conversation", "nothing was said there yet", peer->name));
    }
    if (id < 0 || id > it->second.last_id) {
      ++counters_.errors;
      return send(c,
                  wire::dm_error("invalid_read", "not a message of the conversation", peer->name));
    }
    return mark_read(c.user, it->second.feed, "with", peer->name, id, &c);
  }
  const std::string name = names::room_key(r.str("room"));
  if (!c.rooms.contains(name)) return error(c, "not_joined", "join the room first");
  auto rm = rooms_.find(name);
  const std::int64_t last = rm != rooms_.end() ? rm->second.feed.delivered_id() : 0;
  if (id < 0 || id > last) return error(c, "invalid_read", "not a message of the room", name);
  mark_read(c.user, name, "room", name, id, &c);
}

// Marks only move forward. A change reaches every session of the user; a request that changes
// nothing is answered with the mark as it is.
void hub::mark_read(const std::string& user_key, const std::string& feed, std::string_view field,
                    std::string_view shown, std::int64_t id, client* asking) {
  auto it = users_.find(user_key);
  if (it == users_.end()) return;
  auto& marks = it->second.priv.read;
  auto mark = marks.find(feed);
  const std::int64_t current = mark == marks.end() ? 0 : mark->second;
  if (id <= current) {
    if (asking != nullptr) send(*asking, wire::read_mark(field, shown, current));
    return;
  }
  if (mark != marks.end())
    mark->second = id;
  else if (marks.size() < store::max_listed_marks)
    marks.emplace(feed, id);
  store_.set_read(user_key, feed, id);
  publish(user_topic(user_key), wire::read_mark(field, shown, id), it->second.sessions.size());
}

// With a join: where the user stopped reading. A room joined for the first time is read up to
// now, so its history is not news.
std::optional<wire::read_state> hub::room_read_state(client& c, const std::string& room_name,
                                                     std::int64_t up_to) {
  user* u = user_of(c);
  if (u == nullptr || !u->signed_in || u->priv.state != private_state::load::loaded)
    return std::nullopt;
  auto it = u->priv.read.find(room_name);
  if (it == u->priv.read.end()) {
    // Stored even at 0 (an empty room): the mark's presence is what says "joined before".
    if (u->priv.read.size() < store::max_listed_marks) u->priv.read.emplace(room_name, 0);
    store_.set_read(c.user, room_name, 0);
    mark_read(c.user, room_name, "room", room_name, up_to, nullptr);
    return wire::read_state{up_to, 0};
  }
  return wire::read_state{it->second, std::max<std::int64_t>(0, up_to - it->second)};
}

// What a user writes, it has read.
void hub::note_sent(client& c, const std::string& feed, std::int64_t id) {
  user* u = user_of(c);
  if (u == nullptr || !u->signed_in) return;
  if (!conversations::is_conversation(feed))
    return mark_read(c.user, feed, "room", feed, id, nullptr);
  const auto keys = conversations::members(feed);
  if (!keys) return;
  const std::string& other = keys->first == c.user ? keys->second : keys->first;
  mark_read(c.user, feed, "with", shown_name(other, c.user), id, nullptr);
}

}  // namespace duplex::chat
