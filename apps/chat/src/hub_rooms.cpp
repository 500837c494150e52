// Rooms in memory, joins with their history, leaves and history pages.
#include <set>

#include "hub.hpp"
#include "names.hpp"

namespace duplex::chat {

void hub::on_join(client& c, const request& r) {
  const std::string raw = r.str("room");
  if (!names::valid_room(raw)) return error(c, "invalid_room", "1 to 32 of a-z, 0-9, - and _");
  join(c, names::room_key(raw), r.integer("since"));
}

void hub::join(client& c, const std::string& name, std::int64_t since) {
  const bool fresh = !c.rooms.contains(name);
  if (fresh && c.rooms.size() >= limits_.max_rooms_per_user)
    return error(c, "too_many_rooms", "leave a room first");
  if (!rooms_.contains(name) && rooms_.size() >= limits_.max_rooms)
    return error(c, "server_full", "no more rooms on this server");
  if (fresh && !admit(c, name)) return;  // bans, invitations, the directory's limits
  room* opened = room_named(name);
  if (opened == nullptr) return error(c, "store_failed", "history is unavailable", name);
  room& rm = *opened;
  if (!rm.feed.ready()) {
    if (rm.waiting.size() >= limits_.max_members_per_room)
      return error(c, "room_full", "the room is full", name);
    rm.waiting.emplace_back(c.id, since);
    return;
  }
  complete_join(c, rm, since);
  release_if_unused(name);  // a refused join leaves the room as empty as it found it
}

// A room opens once per node: until the store tells its last id, joins wait. Null when the
// store refused at once (it is unreachable).
hub::room* hub::room_named(const std::string& name) {
  if (auto it = rooms_.find(name); it != rooms_.end()) return &it->second;
  room& rm = rooms_[name];
  rm.name = name;
  rm.topic = topic_of(name);
  rm.serial = next_room_serial_++;
  // The store may answer from inside this call: the room is complete before it asks, and
  // on_room_open neither erases nor releases it from under this frame meanwhile.
  opening_ = true;
  open_failed_ = false;
  store_.last_id(name, [this, name, serial = rm.serial](bool ok, std::int64_t id) {
    on_room_open(name, serial, ok, id);
  });
  opening_ = false;
  if (open_failed_) {
    rooms_.erase(name);
    return nullptr;
  }
  return &rooms_.find(name)->second;
}

hub::room* hub::live_room(const std::string& name, std::uint64_t serial) {
  auto it = rooms_.find(name);
  return it != rooms_.end() && it->second.serial == serial ? &it->second : nullptr;
}

void hub::on_room_open(const std::string& name, std::uint64_t serial, bool ok,
                       std::int64_t last_id) {
  room* rm = live_room(name, serial);
  if (rm == nullptr || rm->feed.ready()) return;
  if (!ok && opening_) {
    open_failed_ = true;  // room_named erases it once the store's call has returned
    return;
  }
  auto waiting = std::move(rm->waiting);
  if (!ok) {
    rooms_.erase(name);  // the next join tries again
    for (auto [id, since] : waiting)
      if (client* c = find_client(id)) error(*c, "store_failed", "history is unavailable", name);
    return;
  }
  // Filling a gap may answer (and finish) at once; the room has no member yet, so it must be
  // kept until the waiting joins are in.
  ++rm->pins;
  carry_out(*rm, rm->feed.open(last_id));
  for (auto [id, since] : waiting) {
    client* c = find_client(id);
    if (c != nullptr && !c->closing && still_admitted(*c, name)) complete_join(*c, *rm, since);
  }
  --rm->pins;
  if (!opening_) release_if_unused(name);  // every joiner may have gone meanwhile
}

// A join admitted before its room's feed opened: a ban made meanwhile (here, or on another
// node with a shared directory) is honoured rather than let through with the history.
bool hub::still_admitted(client& c, const std::string& name) {
  try {
    if (!dir_.banned(name, c.user)) return true;
    error(c, "banned", "you are banned from this room", name);
  } catch (const std::exception&) {
    error(c, "store_failed", "the room directory is unavailable; try again", name);
  }
  return false;
}

// A room lives in memory while someone here is in it or something of it is under way; its
// history stays in the store. So a table of rooms that clients can fill empties again.
void hub::release_if_unused(const std::string& name) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  const room& rm = it->second;
  if (!rm.feed.ready() || rm.feed.busy() || !rm.members.empty() || !rm.waiting.empty() ||
      rm.appending != 0 || rm.pins != 0)
    return;
  rooms_.erase(it);
}

void hub::complete_join(client& c, room& rm, std::int64_t since) {
  const bool fresh = !c.rooms.contains(rm.name);
  if (fresh && c.rooms.size() >= limits_.max_rooms_per_user)
    return error(c, "too_many_rooms", "leave a room first", rm.name);
  if (fresh && rm.members.size() >= limits_.max_members_per_room)
    return error(c, "room_full", "the room is full", rm.name);
  // Joined again while the first join's history is still being read: that answer finishes
  // this join too. A second read would end at a later id and, without `since`, could leave out
  // messages held meanwhile.
  if (!fresh && c.syncing.contains(rm.name)) return;
  // From here the room's messages wait in c.syncing until the history has gone out; the
  // history ends at what has been delivered so far, so nothing comes twice.
  if (!fresh) stop_listening(c, rm);
  rm.members.insert(c.id);
  rm.syncing.insert(c.id);
  c.rooms.insert(rm.name);
  const std::uint64_t serial = ++c.joins;
  c.syncing[rm.name].serial = serial;
  const std::int64_t up_to = rm.feed.delivered_id();
  if (fresh) entered(c, rm);
  const std::uint64_t cid = c.id;
  store_.remote_members(rm.name, [this, cid, name = rm.name, serial, since, up_to](
                                     bool, std::vector<std::string> remote) {
    client* cl = find_client(cid);
    if (cl == nullptr) return;
    auto mine = cl->syncing.find(name);
    if (mine == cl->syncing.end() || mine->second.serial != serial) return;  // not this join's
    // The room's members: stored ones (signed in, here or not) and whoever is here now.
    std::set<std::string> here(remote.begin(), remote.end());
    if (auto it = rooms_.find(name); it != rooms_.end())
      for (auto m : it->second.members)
        if (const client* member = find_client(m)) here.insert(member->nick);
    std::set<std::string> nicks(here);
    for (auto& n : stored_member_names(name))
      nicks.insert(std::move(n));
    const std::vector<std::string> list(nicks.begin(), nicks.end());
    const std::vector<std::string> online(here.begin(), here.end());
    const auto read = room_read_state(*cl, name, up_to);  // hub_read.cpp
    // The room's view needs several directory reads; when one fails, the join is still
    // answered, without it, rather than left waiting.
    bool viewed = false;
    try {
      if (auto rec = dir_.find(name)) {
        auto view = view_of(*rec, cl->user);
        send(*cl, wire::joined(name, list, up_to, std::move(view), read, &online));
        viewed = true;
      }
    } catch (const std::exception&) {
    }
    if (!viewed) send(*cl, wire::joined(name, list, up_to, read, &online));
    send_join_history(*cl, name, serial, since, up_to);
  });
}

// A fresh join gets the latest messages; a resume (`since`) gets exactly the ones after it.
// Only delivered ids are read, and what the room says while the read runs waits in
// c.syncing, so every message reaches the client once, in id order.
void hub::send_join_history(client& c, const std::string& name, std::uint64_t serial,
                            std::int64_t since, std::int64_t up_to) {
  if (since >= 0) {
    const bool too_many = up_to - since > static_cast<std::int64_t>(limits_.max_resume);
    if (since > up_to || too_many) {
      error(c, "resume_too_old", "history since that id is not available; fetch it again", name);
      return finish_sync(c.id, name, serial, {});
    }
  }
  const std::uint64_t cid = c.id;
  auto reply = [this, cid, name, serial, since, up_to](bool ok, std::vector<stored_message> msgs) {
    client* cl = find_client(cid);
    if (cl == nullptr) return;
    if (!ok) {
      error(*cl, "store_failed", "history is unavailable", name);
      return finish_sync(cid, name, serial, {});
    }
    // The store is authoritative: a first id past since + 1 means what followed was pruned.
    if (since >= 0 && since < up_to && (msgs.empty() || msgs.front().id != since + 1)) {
      error(*cl, "resume_too_old", "history since that id is not available; fetch it again", name);
      return finish_sync(cid, name, serial, {});
    }
    // Fewer rows than asked for: the store holds nothing older (deleted rows count as rows).
    const bool start = since < 0 && msgs.size() < limits_.join_history;
    finish_sync(cid, name, serial, wire::join_history(name, msgs, since >= 0, start));
  };
  if (since < 0) return store_.before(name, up_to + 1, limits_.join_history, std::move(reply));
  store_.range(name, since, up_to, limits_.max_resume, std::move(reply));
}

// The history (or the error that replaces it), then what the room said meanwhile, then the
// acks that waited behind it; from then on the client listens to the room's topic.
void hub::finish_sync(std::uint64_t client_id, const std::string& room_name, std::uint64_t serial,
                      const std::string& reply) {
  client* c = find_client(client_id);
  if (c == nullptr) return;
  auto it = c->syncing.find(room_name);
  if (it == c->syncing.end() || it->second.serial != serial) return;
  auto held = std::move(it->second.held);
  auto acks = std::move(it->second.acks);
  c->syncing.erase(it);
  if (!reply.empty()) send(*c, reply);
  for (const auto& out : held)
    send(*c, out);
  for (const auto& out : acks)
    send(*c, out);
  // A member is in its room, and a room with a member is in memory.
  if (auto rm = rooms_.find(room_name); rm != rooms_.end()) listen(*c, rm->second);
}

void hub::on_leave(client& c, const request& r) {
  const std::string name = names::room_key(r.str("room"));
  const user* u = user_of(c);
  if (u != nullptr && u->signed_in) return on_leave_room(c, name);  // the user's membership
  if (!c.rooms.contains(name)) return error(c, "not_joined", "you are not in that room");
  leave_room(c, name, true);
}

void hub::leave_room(client& c, std::string name, bool tell_self, bool quiet,
                     std::string_view reason, std::string_view by) {
  c.announce.erase(name);
  c.muted_until.erase(name);
  c.rooms.erase(name);
  auto it = rooms_.find(name);
  // Acks that waited behind messages it will no longer see: what it said was stored, so they
  // still go, after `left` (an ack never comes before its message while the client is in the
  // room). A connection going away gets nothing more.
  std::vector<std::string> acks;
  if (auto sy = c.syncing.find(name); sy != c.syncing.end()) {
    acks = std::move(sy->second.acks);
    c.syncing.erase(sy);
    if (it != rooms_.end()) it->second.syncing.erase(c.id);
  } else if (it != rooms_.end()) {
    stop_listening(c, it->second);
  }
  if (tell_self) {
    send(c, reason.empty() ? wire::left(name) : wire::left(name, reason, by));
    for (const auto& out : acks)
      send(c, out);
  }
  if (it == rooms_.end()) return;
  it->second.members.erase(c.id);
  left(c, it->second, quiet);
  release_if_unused(name);
}

hub::room* hub::joined_room(client& c, const request& r) {
  const std::string name = names::room_key(r.str("room"));
  if (!c.rooms.contains(name)) {
    error(c, "not_joined", "join the room first");
    return nullptr;
  }
  auto it = rooms_.find(name);
  return it != rooms_.end() ? &it->second : nullptr;
}

void hub::on_history(client& c, const request& r) {
  room* rm = joined_room(c, r);
  if (rm == nullptr) return;
  std::int64_t before = r.integer("before");
  const std::int64_t newest = rm->feed.delivered_id();
  if (before < 0 || before > newest + 1) before = newest + 1;
  std::int64_t limit = r.integer("limit");
  if (limit <= 0 || limit > static_cast<std::int64_t>(limits_.history_page))
    limit = static_cast<std::int64_t>(limits_.history_page);
  const std::uint64_t cid = c.id;
  store_.before(
      rm->name, before, static_cast<std::size_t>(limit),
      [this, cid, name = rm->name, before, limit](bool ok, std::vector<stored_message> msgs) {
        client* cl = find_client(cid);
        if (cl == nullptr) return;
        if (!ok) return error(*cl, "store_failed", "history is unavailable", name);
        const bool start = msgs.size() < static_cast<std::size_t>(limit);
        send(*cl, wire::history_page(name, msgs, before, start));
      });
}

}  // namespace duplex::chat
