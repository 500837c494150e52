#include "hub.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "names.hpp"
#include "token.hpp"
#include "wire.hpp"

namespace duplex::chat {

struct hub::request {
  std::uint64_t id;
  wire::request body;
  std::string type;
  std::string str(const char* key) const { return body.str(key); }
  std::int64_t integer(const char* key) const { return body.natural(key); }
};

namespace {

std::int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

hub::hub(store& s, hub_limits limits, clock now)
    : store_(s), limits_(limits), now_(now ? std::move(now) : clock(system_ms)) {
  store_.set_listener(this);
}

hub::~hub() {
  if (store_.listener() == this) store_.set_listener(nullptr);
}

hub::client* hub::find_client(std::uint64_t id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

std::uint64_t hub::attach(session& s) {
  const std::uint64_t id = next_id_++;
  client& c = clients_[id];
  c.id = id;
  c.s = &s;
  c.bucket = token_bucket(limits_.rate_per_second, limits_.burst, now_());
  return id;
}

void hub::detach(std::uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  client& c = it->second;
  while (!c.rooms.empty())
    leave_room(c, *c.rooms.begin(), false);
  if (!c.nick.empty()) {
    auto n = nicks_.find(names::key(c.nick));
    if (n != nicks_.end() && n->second == id) nicks_.erase(n);
  }
  clients_.erase(it);
}

void hub::receive_binary(std::uint64_t id) {
  client* c = find_client(id);
  if (c == nullptr || c->closing) return;
  ++counters_.messages_in;
  // Every frame counts against the bucket, so answering this one cannot be used as a flood.
  if (!take_token(*c)) return;
  error(*c, "text_only", "send JSON as text");
}

void hub::receive(std::uint64_t id, std::string_view text) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  client& c = it->second;
  if (c.closing) return;
  ++counters_.messages_in;
  counters_.bytes_in += text.size();
  if (!take_token(c)) return;
  auto body = wire::request::parse(text);
  if (!body) return error(c, "bad_json", "each message must be one JSON object");
  std::string type = body->type();
  const request r{id, std::move(*body), std::move(type)};
  dispatch(c, r);
}

bool hub::take_token(client& c) {
  const auto verdict = c.bucket.take(now_());
  if (verdict == token_bucket::verdict::pass) return true;
  ++counters_.rate_limited;
  // Refused with an error while the debt grows; a client that keeps flooding until the debt
  // reaches the burst size is closed.
  if (verdict == token_bucket::verdict::close) {
    c.closing = true;
    c.s->close(1008, "flood");
    return false;
  }
  error(c, "rate_limited", "slow down");
  return false;
}

void hub::dispatch(client& c, const request& r) {
  if (r.type == "hello") return on_hello(c, r);
  if (c.nick.empty()) return error(c, "hello_first", "choose a nickname first");
  if (r.type == "join") return on_join(c, r);
  if (r.type == "leave") return on_leave(c, r);
  if (r.type == "say") return on_say(c, r);
  if (r.type == "typing") return on_typing(c, r);
  if (r.type == "private") return on_private(c, r);
  if (r.type == "history") return on_history(c, r);
  if (r.type == "rooms") return on_rooms(c);
  error(c, "unknown_type", "unknown message type");
}

void hub::on_hello(client& c, const request& r) {
  if (!c.nick.empty()) return error(c, "already_named", "the nickname is set for this connection");
  auto proposed = names::validate(r.str("nick"));
  if (!proposed) return error(c, "invalid_nick", proposed.reason);
  const std::string nick = std::move(proposed.name);
  const std::string key = names::key(nick);
  if (auto owner = nicks_.find(key); owner != nicks_.end() && find_client(owner->second)) {
    client& old = *find_client(owner->second);
    // The token from an earlier welcome proves this is the same user reconnecting before the
    // server noticed the old connection was gone: the new connection takes the name over.
    if (old.token.empty() || r.str("token") != old.token)
      return error(c, "nick_taken", "that nickname is in use");
    while (!old.rooms.empty())
      leave_room(old, *old.rooms.begin(), false);
    old.nick.clear();
    old.closing = true;
    old.s->close(4000, "replaced by a newer connection");
  }
  nicks_[key] = r.id;
  c.nick = nick;
  c.token = random_token();
  send(c, wire::welcome(nick, c.token));
}

// A room opens once per node: until the store tells its last id, joins wait. Null when the
// store refused at once (it is unreachable).
hub::room* hub::room_named(const std::string& name) {
  if (auto it = rooms_.find(name); it != rooms_.end()) return &it->second;
  room& rm = rooms_[name];
  rm.name = name;
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
    if (c != nullptr && !c->closing) complete_join(*c, *rm, since);
  }
  --rm->pins;
  if (!opening_) release_if_unused(name);  // every joiner may have gone meanwhile
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

void hub::on_join(client& c, const request& r) {
  const std::string raw = r.str("room");
  if (!names::valid_room(raw)) return error(c, "invalid_room", "1 to 32 of a-z, 0-9, - and _");
  const std::string name = names::room_key(raw);
  const bool fresh = !c.rooms.contains(name);
  if (fresh && c.rooms.size() >= limits_.max_rooms_per_client)
    return error(c, "too_many_rooms", "leave a room first");
  if (!rooms_.contains(name) && rooms_.size() >= limits_.max_rooms)
    return error(c, "server_full", "no more rooms on this server");
  room* opened = room_named(name);
  if (opened == nullptr) return error(c, "store_failed", "history is unavailable", name);
  room& rm = *opened;
  if (!rm.feed.ready()) {
    if (rm.waiting.size() >= limits_.max_members_per_room)
      return error(c, "room_full", "the room is full", name);
    rm.waiting.emplace_back(r.id, r.integer("since"));
    return;
  }
  complete_join(c, rm, r.integer("since"));
  release_if_unused(name);  // a refused join leaves the room as empty as it found it
}

void hub::complete_join(client& c, room& rm, std::int64_t since) {
  const bool fresh = !c.rooms.contains(rm.name);
  if (fresh && c.rooms.size() >= limits_.max_rooms_per_client)
    return error(c, "too_many_rooms", "leave a room first", rm.name);
  if (fresh && rm.members.size() >= limits_.max_members_per_room)
    return error(c, "room_full", "the room is full", rm.name);
  // Joined again while the first join's history is still being read: that answer finishes
  // this join too. A second read would end at a later id and, without `since`, could leave out
  // messages held meanwhile.
  if (!fresh && c.syncing.contains(rm.name)) return;
  rm.members.insert(c.id);
  c.rooms.insert(rm.name);
  // From here the room's messages wait in c.syncing until the history has gone out; the
  // history ends at what has been delivered so far, so nothing comes twice.
  const std::uint64_t serial = ++c.joins;
  c.syncing[rm.name].serial = serial;
  const std::int64_t up_to = rm.feed.delivered_id();
  if (fresh) {
    broadcast(rm, wire::presence(rm.name, c.nick, true), c.id);
    store_.set_presence(rm.name, c.nick, true);
  }
  const std::uint64_t cid = c.id;
  store_.remote_members(rm.name, [this, cid, name = rm.name, serial, since, up_to](
                                     bool, std::vector<std::string> remote) {
    client* cl = find_client(cid);
    if (cl == nullptr) return;
    auto mine = cl->syncing.find(name);
    if (mine == cl->syncing.end() || mine->second.serial != serial) return;  // not this join's
    std::set<std::string> nicks(remote.begin(), remote.end());
    if (auto it = rooms_.find(name); it != rooms_.end())
      for (auto m : it->second.members)
        if (const client* member = find_client(m)) nicks.insert(member->nick);
    send(*cl, wire::joined(name, {nicks.begin(), nicks.end()}, up_to));
    send_join_history(*cl, name, serial, since, up_to);
  });
}

void hub::on_presence(const std::string& room_name, const std::string& nick, bool joined) {
  auto it = rooms_.find(room_name);
  if (it == rooms_.end()) return;
  broadcast(it->second, wire::presence(room_name, nick, joined));
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
    finish_sync(cid, name, serial, wire::join_history(name, msgs, since >= 0));
  };
  if (since < 0) return store_.before(name, up_to + 1, limits_.join_history, std::move(reply));
  store_.range(name, since, up_to, limits_.max_resume, std::move(reply));
}

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
}

void hub::on_leave(client& c, const request& r) {
  const std::string name = names::room_key(r.str("room"));
  if (!c.rooms.contains(name)) return error(c, "not_joined", "you are not in that room");
  leave_room(c, name, true);
}

void hub::leave_room(client& c, std::string name, bool tell_self) {
  c.rooms.erase(name);
  c.typed_ms.erase(name);
  // Acks that waited behind messages it will no longer see: what it said was stored, so they
  // still go, after `left` (an ack never comes before its message while the client is in the
  // room). A connection going away gets nothing more.
  std::vector<std::string> acks;
  if (auto sy = c.syncing.find(name); sy != c.syncing.end()) {
    acks = std::move(sy->second.acks);
    c.syncing.erase(sy);
  }
  if (tell_self) {
    send(c, wire::left(name));
    for (const auto& out : acks)
      send(c, out);
  }
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  it->second.members.erase(c.id);
  if (!c.nick.empty()) store_.set_presence(name, c.nick, false);
  if (!c.nick.empty()) broadcast(it->second, wire::presence(name, c.nick, false));
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

void hub::on_say(client& c, const request& r) {
  room* rm = joined_room(c, r);
  if (rm == nullptr) return;
  const std::string text = r.str("text");
  if (text.empty()) return error(c, "empty_text", "say something");
  if (text.size() > limits_.max_text_bytes) return error(c, "text_too_long", "at most 4096 bytes");
  // Refused rather than cut: a cut could split a character, and a client could no longer
  // recognise its own ref in the ack.
  std::string ref = r.str("ref");
  if (code_points(ref) > limits_.max_ref_chars)
    return error(c, "invalid_ref", "ref is at most 64 characters", rm->name);
  // The nick comes from the connection, never from the message; the id from the store.
  stored_message m{rm->name, 0, c.nick, text, now_()};
  const std::uint64_t sender = r.id;
  ++rm->appending;
  store_.append(std::move(m), [this, sender, name = rm->name, serial = rm->serial,
                               ref = std::move(ref)](bool ok, std::int64_t id) {
    if (room* live = live_room(name, serial)) --live->appending;
    on_stored(sender, name, ref, ok, id);
    release_if_unused(name);
  });
}

// The ack waits until the message itself has been broadcast here: a client always sees its
// message before the ack, whichever of the two the store reports first.
void hub::on_stored(std::uint64_t sender, const std::string& room_name, const std::string& ref,
                    bool ok, std::int64_t id) {
  client* c = find_client(sender);
  if (!ok) {
    if (c) error(*c, "store_failed", "the message could not be saved; send it again");
    return;
  }
  auto it = rooms_.find(room_name);
  if (it != rooms_.end()) return carry_out(it->second, it->second.feed.stored(id, sender, ref));
  if (c) send_ack(*c, room_name, ref, id);
}

// After the message itself: if the sender is still reading its join history, the message waits
// among the room's held messages, and the ack waits behind it.
void hub::send_ack(client& c, const std::string& room_name, const std::string& ref,
                   std::int64_t id) {
  std::string out = wire::ack(ref, room_name, id);
  if (auto held = c.syncing.find(room_name); held != c.syncing.end())
    return held->second.acks.push_back(std::move(out));
  send(c, out);
}

// Messages from the store, in id order per room but possibly with gaps (a lost feed): the
// room's feed decides what goes out.
void hub::on_message(const stored_message& m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end()) return;  // nobody here ever joined it
  carry_out(it->second, it->second.feed.message(m));
}

// In the feed's order. The room is pinned meanwhile: a fetch may be answered from inside the
// store's call and carry out more, and a delivery may release the last thing that kept the
// room (its members may all have gone while the message was stored).
void hub::carry_out(room& rm, room_feed::actions actions) {
  ++rm.pins;
  for (auto& a : actions) {
    if (auto* d = std::get_if<room_feed::deliver>(&a)) {
      broadcast(rm, wire::message(d->message));
    } else if (auto* k = std::get_if<room_feed::ack>(&a)) {
      if (client* c = find_client(k->sender)) send_ack(*c, rm.name, k->ref, k->id);
    } else if (auto* f = std::get_if<room_feed::fetch>(&a)) {
      fetch(rm, *f);
    }
  }
  --rm.pins;
  release_if_unused(rm.name);
}

void hub::fetch(room& rm, const room_feed::fetch& f) {
  store_.range(
      rm.name, f.after_id, f.up_to, f.limit,
      [this, name = rm.name, serial = rm.serial](bool ok, std::vector<stored_message> msgs) {
        if (room* live = live_room(name, serial))
          carry_out(*live, live->feed.filled(ok, std::move(msgs)));
      });
}

void hub::on_resync() {
  // A fill may finish at once and free its room: walk a copy, not the table.
  std::vector<std::pair<std::string, std::uint64_t>> open;
  for (const auto& [name, rm] : rooms_)
    if (rm.feed.ready() && !rm.feed.filling()) open.emplace_back(name, rm.serial);
  for (const auto& [name, serial] : open)
    if (room* rm = live_room(name, serial)) carry_out(*rm, rm->feed.resync());
}

void hub::on_typing(client& c, const request& r) {
  room* rm = joined_room(c, r);
  if (rm == nullptr) return;
  const std::int64_t now = now_();
  auto& last = c.typed_ms[rm->name];
  if (last != 0 && now - last < limits_.typing_interval_ms) return;  // throttled, silently
  last = now;
  broadcast(*rm, wire::typing(rm->name, c.nick), r.id, true);
}

void hub::on_private(client& c, const request& r) {
  const std::string text = r.str("text");
  if (text.empty() || text.size() > limits_.max_text_bytes)
    return error(c, "invalid_text", "1 to 4096 bytes");
  auto target = nicks_.find(names::key(r.str("to")));
  client* to = target != nicks_.end() ? find_client(target->second) : nullptr;
  if (to == nullptr) return error(c, "no_such_user", "nobody by that name is online");
  client& t = *to;
  const std::string out = wire::private_message(c.nick, t.nick, text, now_());
  send(t, out);
  if (&t != &c) send(c, out);
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
  store_.before(rm->name, before, static_cast<std::size_t>(limit),
                [this, cid, name = rm->name, before](bool ok, std::vector<stored_message> msgs) {
                  client* cl = find_client(cid);
                  if (cl == nullptr) return;
                  if (!ok) return error(*cl, "store_failed", "history is unavailable", name);
                  send(*cl, wire::history_page(name, msgs, before));
                });
}

void hub::on_rooms(client& c) {
  const std::uint64_t cid = c.id;
  store_.rooms([this, cid](bool ok, std::vector<std::string> names) {
    client* cl = find_client(cid);
    if (cl == nullptr) return;
    if (!ok) return error(*cl, "store_failed", "the room list is unavailable");
    std::map<std::string, std::size_t> all;
    for (auto& name : names)
      all[name] = 0;
    for (auto& [name, rm] : rooms_)
      all[name] = rm.members.size();
    send(*cl, wire::room_list({all.begin(), all.end()}));
  });
}

void hub::send(client& c, const std::string& out, bool droppable) {
  if (!c.s->send(out, droppable)) {
    ++counters_.dropped;
    return;
  }
  ++counters_.messages_out;
  counters_.bytes_out += out.size();
}

void hub::error(client& c, std::string_view code, std::string_view message,
                std::string_view room_name) {
  ++counters_.errors;
  send(c, wire::error(code, message, room_name));
}

void hub::broadcast(const room& rm, const std::string& out, std::uint64_t except, bool droppable) {
  constexpr std::size_t max_syncing = 1000;  // messages held for one client during its history
  for (auto m : rm.members) {
    if (m == except) continue;
    client* member = find_client(m);
    if (member == nullptr) continue;
    client& c = *member;
    auto held = c.syncing.find(rm.name);
    if (held == c.syncing.end()) {
      send(c, out, droppable);
    } else if (!droppable && held->second.held.size() < max_syncing) {
      held->second.held.push_back(out);
    } else if (!droppable && !c.closing) {
      c.closing = true;
      c.s->close(1013, "too far behind; reconnect");
    }
  }
}

}  // namespace duplex::chat
