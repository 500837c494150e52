#include "hub.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "token.hpp"
#include "wire.hpp"

namespace duplex::chat {

using json = nlohmann::json;

struct hub::request {
  std::uint64_t id;
  json body;
  std::string type;
  std::string str(const char* key) const { return text_field(body, key); }
  bool has(const char* key) const { return body.contains(key); }
  // A non-negative integer field, or -1 when absent or of another kind.
  std::int64_t integer(const char* key) const {
    auto it = body.find(key);
    if (it == body.end() || !it->is_number_integer()) return -1;
    const auto v = it->get<std::int64_t>();
    return v < 0 ? -1 : v;
  }
};

namespace {

std::int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

json message_json(const stored_message& m) {
  return {{"type", "message"}, {"room", m.room}, {"id", m.id},
          {"nick", m.nick},    {"text", m.text}, {"ts", m.ts_ms}};
}

json messages_json(const std::vector<stored_message>& ms) {
  json arr = json::array();
  for (const auto& m : ms) {
    json j = message_json(m);
    j.erase("type");
    arr.push_back(std::move(j));
  }
  return arr;
}

// Decodes one code point of valid UTF-8 (the WebSocket layer has validated the text).
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len && i + static_cast<std::size_t>(k) < s.size(); ++k)
    c = (c << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
  i += static_cast<std::size_t>(len);
  return c;
}

bool printable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return false;  // C0, DEL, C1 controls
  if (c >= 0x200B && c <= 0x200F) return false;            // zero-width, LRM/RLM
  if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) return false;  // bidi
  return c != 0x2028 && c != 0x2029 && c != 0x2060 && c != 0xFEFF && c != 0xFFFD;
}

}  // namespace

bool valid_nick(std::string_view nick) {
  if (nick.empty() || nick.front() == ' ' || nick.back() == ' ') return false;
  std::size_t count = 0;
  for (std::size_t i = 0; i < nick.size();) {
    if (!printable(next_code_point(nick, i))) return false;
    ++count;
  }
  return count <= 32;
}

std::string fold_nick(std::string_view nick) {
  std::string out(nick);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  return out;
}

bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > 32) return false;
  return std::all_of(room.begin(), room.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
  });
}

std::string fold_room(std::string_view room) {
  return fold_nick(room);
}

hub::hub(store& s, hub_limits limits, clock now)
    : store_(s), limits_(limits), now_(now ? std::move(now) : clock(system_ms)) {
  store_.on_message = [this](const stored_message& m) { on_store_message(m); };
  store_.on_resync = [this] { on_resync(); };
  store_.on_presence = [this](const std::string& name, const std::string& nick, bool joined) {
    on_remote_presence(name, nick, joined);
  };
}

hub::~hub() {
  store_.on_message = nullptr;
  store_.on_resync = nullptr;
  store_.on_presence = nullptr;
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
  c.tokens = limits_.burst;
  c.refilled_ms = now_();
  return id;
}

void hub::detach(std::uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  client& c = it->second;
  while (!c.rooms.empty())
    leave_room(c, *c.rooms.begin(), false);
  if (!c.nick.empty()) {
    auto n = nicks_.find(fold_nick(c.nick));
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
  request r{id, json::parse(text, nullptr, false), {}};
  if (r.body.is_discarded() || !r.body.is_object())
    return error(c, "bad_json", "each message must be one JSON object");
  r.type = r.str("type");
  dispatch(c, r);
}

bool hub::take_token(client& c) {
  const std::int64_t now = now_();
  c.tokens = std::min(limits_.burst, c.tokens + static_cast<double>(now - c.refilled_ms) *
                                                    limits_.rate_per_second / 1000.0);
  c.refilled_ms = now;
  if (c.tokens >= 1) {
    c.tokens -= 1;
    return true;
  }
  // Over the rate: refused with an error, and the debt grows; a client that keeps flooding
  // until the debt reaches the burst size is closed.
  c.tokens -= 1;
  ++counters_.rate_limited;
  if (c.tokens <= -limits_.burst) {
    c.closing = true;
    c.s->close(ws::close_code::policy_violation, "flood");
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
  const std::string nick = r.str("nick");
  if (!valid_nick(nick)) return error(c, "invalid_nick", "1 to 32 printable characters");
  const std::string key = fold_nick(nick);
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
    old.s->close(close_replaced, "replaced by a newer connection");
  }
  nicks_[key] = r.id;
  c.nick = nick;
  c.token = random_token();
  send(c, to_wire(json{{"type", "welcome"}, {"nick", nick}, {"token", c.token}}));
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
  if (rm == nullptr || rm->ready) return;
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
  rm->ready = true;
  rm->delivered_id = last_id;
  // Filling a gap may answer (and finish) at once; the room has no member yet, so it must be
  // kept until the waiting joins are in.
  ++rm->pins;
  release_acks(*rm);
  drain_held(*rm);
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
  if (!rm.ready || !rm.members.empty() || !rm.waiting.empty() || rm.filling || rm.appending != 0 ||
      !rm.acks.empty() || rm.pins != 0)
    return;
  rooms_.erase(it);
}

void hub::on_join(client& c, const request& r) {
  const std::string raw = r.str("room");
  if (!valid_room(raw)) return error(c, "invalid_room", "1 to 32 of a-z, 0-9, - and _");
  const std::string name = fold_room(raw);
  const bool fresh = !c.rooms.contains(name);
  if (fresh && c.rooms.size() >= limits_.max_rooms_per_client)
    return error(c, "too_many_rooms", "leave a room first");
  if (!rooms_.contains(name) && rooms_.size() >= limits_.max_rooms)
    return error(c, "server_full", "no more rooms on this server");
  room* opened = room_named(name);
  if (opened == nullptr) return error(c, "store_failed", "history is unavailable", name);
  room& rm = *opened;
  if (!rm.ready) {
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
  const std::int64_t up_to = rm.delivered_id;
  if (fresh) {
    broadcast(
        rm,
        to_wire(json{{"type", "presence"}, {"room", rm.name}, {"nick", c.nick}, {"event", "join"}}),
        c.id);
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
    send(*cl, to_wire(json{{"type", "joined"},
                           {"room", name},
                           {"members", json(std::vector<std::string>(nicks.begin(), nicks.end()))},
                           {"last_id", up_to}}));
    send_join_history(*cl, name, serial, since, up_to);
  });
}

void hub::on_remote_presence(const std::string& room_name, const std::string& nick, bool joined) {
  auto it = rooms_.find(room_name);
  if (it == rooms_.end()) return;
  broadcast(it->second, to_wire(json{{"type", "presence"},
                                     {"room", room_name},
                                     {"nick", nick},
                                     {"event", joined ? "join" : "leave"}}));
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
    json out{{"type", "history"}, {"room", name}, {"messages", messages_json(msgs)}};
    if (since >= 0) out["resume"] = true;
    finish_sync(cid, name, serial, to_wire(out));
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
  const std::string name = fold_room(r.str("room"));
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
    send(c, to_wire(json{{"type", "left"}, {"room", name}}));
    for (const auto& out : acks)
      send(c, out);
  }
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  it->second.members.erase(c.id);
  if (!c.nick.empty()) store_.set_presence(name, c.nick, false);
  if (!c.nick.empty())
    broadcast(
        it->second,
        to_wire(json{{"type", "presence"}, {"room", name}, {"nick", c.nick}, {"event", "leave"}}));
  release_if_unused(name);
}

hub::room* hub::joined_room(client& c, const request& r) {
  const std::string name = fold_room(r.str("room"));
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
  if (it != rooms_.end() && (!it->second.ready || id > it->second.delivered_id)) {
    it->second.acks[id] = {sender, ref};
    return;
  }
  if (c) send_ack(*c, room_name, ref, id);
}

// After the message itself: if the sender is still reading its join history, the message waits
// among the room's held messages, and the ack waits behind it.
void hub::send_ack(client& c, const std::string& room_name, const std::string& ref,
                   std::int64_t id) {
  std::string out = to_wire(json{{"type", "ack"}, {"ref", ref}, {"room", room_name}, {"id", id}});
  if (auto held = c.syncing.find(room_name); held != c.syncing.end())
    return held->second.acks.push_back(std::move(out));
  send(c, out);
}

void hub::release_acks(room& rm) {
  while (!rm.acks.empty() && rm.acks.begin()->first <= rm.delivered_id) {
    const auto id = rm.acks.begin()->first;
    const pending_ack a = std::move(rm.acks.begin()->second);
    rm.acks.erase(rm.acks.begin());
    if (client* c = find_client(a.sender)) send_ack(*c, rm.name, a.ref, id);
  }
}

// Messages from the store, in id order per room but possibly with gaps (a lost feed): each is
// broadcast once, in order, and a gap is filled from the store before anything after it.
void hub::on_store_message(const stored_message& m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end()) return;  // nobody here ever joined it
  room& rm = it->second;
  if (m.id <= rm.delivered_id && rm.ready) return;
  if (!rm.ready || rm.filling || m.id != rm.delivered_id + 1) {
    constexpr std::size_t max_held = 10'000;  // past this, a later fill reads them instead
    if (rm.held.size() < max_held) rm.held.emplace(m.id, m);
    if (rm.ready && !rm.filling) drain_held(rm);
    return release_if_unused(m.room);
  }
  deliver(rm, m);
  drain_held(rm);
  // Its members may all have gone while the message was stored: the room was kept for its
  // ack, which this delivery released.
  release_if_unused(m.room);
}

void hub::deliver(room& rm, const stored_message& m) {
  rm.delivered_id = m.id;
  broadcast(rm, to_wire(message_json(m)));
  release_acks(rm);
}

void hub::drain_held(room& rm) {
  while (!rm.held.empty()) {
    auto first = rm.held.begin();
    if (first->first <= rm.delivered_id) {
      rm.held.erase(first);
      continue;
    }
    if (first->first != rm.delivered_id + 1) return fill(rm, first->first - 1);
    const stored_message m = std::move(first->second);
    rm.held.erase(first);
    deliver(rm, m);
  }
}

// Reads (delivered_id, up_to] from the store and delivers it; up_to = max means "all there is".
void hub::fill(room& rm, std::int64_t up_to) {
  constexpr std::size_t chunk = 500;
  rm.filling = true;
  store_.range(
      rm.name, rm.delivered_id, up_to, chunk,
      [this, name = rm.name, serial = rm.serial, up_to](bool ok, std::vector<stored_message> msgs) {
        room* live = live_room(name, serial);
        if (live == nullptr) return;
        room& r = *live;
        r.filling = false;
        if (!ok) return release_if_unused(name);  // the next message or resync retries
        for (const auto& m : msgs)
          if (m.id > r.delivered_id) deliver(r, m);
        if (msgs.size() == chunk) return fill(r, up_to);
        if (up_to != std::numeric_limits<std::int64_t>::max())
          r.delivered_id = std::max(r.delivered_id, up_to);
        release_acks(r);
        drain_held(r);
        release_if_unused(name);
      });
}

void hub::on_resync() {
  // A fill may finish at once and free its room: walk a copy, not the table.
  std::vector<std::pair<std::string, std::uint64_t>> open;
  for (const auto& [name, rm] : rooms_)
    if (rm.ready && !rm.filling) open.emplace_back(name, rm.serial);
  for (const auto& [name, serial] : open)
    if (room* rm = live_room(name, serial); rm != nullptr && !rm->filling)
      fill(*rm, std::numeric_limits<std::int64_t>::max());
}

void hub::on_typing(client& c, const request& r) {
  room* rm = joined_room(c, r);
  if (rm == nullptr) return;
  const std::int64_t now = now_();
  auto& last = c.typed_ms[rm->name];
  if (last != 0 && now - last < limits_.typing_interval_ms) return;  // throttled, silently
  last = now;
  broadcast(*rm, to_wire(json{{"type", "typing"}, {"room", rm->name}, {"nick", c.nick}}), r.id,
            true);
}

void hub::on_private(client& c, const request& r) {
  const std::string text = r.str("text");
  if (text.empty() || text.size() > limits_.max_text_bytes)
    return error(c, "invalid_text", "1 to 4096 bytes");
  auto target = nicks_.find(fold_nick(r.str("to")));
  client* to = target != nicks_.end() ? find_client(target->second) : nullptr;
  if (to == nullptr) return error(c, "no_such_user", "nobody by that name is online");
  client& t = *to;
  const std::string out = to_wire(
      json{{"type", "private"}, {"from", c.nick}, {"to", t.nick}, {"text", text}, {"ts", now_()}});
  send(t, out);
  if (&t != &c) send(c, out);
}

void hub::on_history(client& c, const request& r) {
  room* rm = joined_room(c, r);
  if (rm == nullptr) return;
  std::int64_t before = r.integer("before");
  if (before < 0 || before > rm->delivered_id + 1) before = rm->delivered_id + 1;
  std::int64_t limit = r.integer("limit");
  if (limit <= 0 || limit > static_cast<std::int64_t>(limits_.history_page))
    limit = static_cast<std::int64_t>(limits_.history_page);
  const std::uint64_t cid = c.id;
  store_.before(rm->name, before, static_cast<std::size_t>(limit),
                [this, cid, name = rm->name, before](bool ok, std::vector<stored_message> msgs) {
                  client* cl = find_client(cid);
                  if (cl == nullptr) return;
                  if (!ok) return error(*cl, "store_failed", "history is unavailable", name);
                  send(*cl, to_wire(json{{"type", "history"},
                                         {"room", name},
                                         {"messages", messages_json(msgs)},
                                         {"before", before}}));
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
    json list = json::array();
    for (auto& [name, n] : all)
      list.push_back({{"name", name}, {"members", n}});
    send(*cl, to_wire(json{{"type", "rooms"}, {"rooms", list}}));
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
  json j{{"type", "error"}, {"code", code}, {"message", message}};
  if (!room_name.empty()) j["room"] = room_name;
  send(c, to_wire(j));
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
      c.s->close(ws::close_code::try_again_later, "too far behind; reconnect");
    }
  }
}

}  // namespace duplex::chat
