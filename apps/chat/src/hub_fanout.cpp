// What reaches a room's members: says and their acks, the store's feed through each room's
// room_feed, presence and typing. A room's messages are published once to its topic; only a
// member still reading its join history gets its own copy, held until the history is out.
#include <algorithm>
#include <vector>

#include "conversations.hpp"
#include "hub.hpp"
#include "message_fold.hpp"

namespace duplex::chat {

void hub::on_say(client& c, const request& r) {
  room* rm = joined_room(c, r);
  if (rm == nullptr) return;
  std::string cid = r.str("cid");
  if (!cid.empty() && !wire::valid_cid(cid, limits_.max_cid_chars))
    return error(c, "invalid_cid", "cid is 1 to 64 of A-Z a-z 0-9 _ -", rm->name);
  // With the cid: the page knows which of its sends was refused, and keeps its text.
  auto refuse = [&](std::string_view code, std::string_view why) {
    ++counters_.errors;
    send(c, wire::error(code, why, rm->name, cid));
  };
  if (auto m = c.muted_until.find(rm->name); m != c.muted_until.end() && m->second > now_())
    return refuse("muted", "a moderator muted you in this room for now");
  const auto file = attachment_of(c, r, rm->name);
  if (!file) return refuse("invalid_file", "attach a file you uploaded for this room");
  const std::string text = r.str("text");
  // A file may go without a word (hub_edits.cpp has the text rules).
  if (auto bad = text_problem(text); bad && !(text.empty() && !file->empty()))
    return refuse(bad->code, bad->message);
  const std::int64_t reply_to = r.integer("reply_to");
  if (auto bad = reply_problem(reply_to, rm->feed.delivered_id()))
    return refuse(bad->code, bad->message);
  // Refused rather than cut: a cut could split a character, and a client could no longer
  // recognise its own ref in the ack.
  std::string ref = r.str("ref");
  if (code_points(ref) > limits_.max_ref_chars)
    return refuse("invalid_ref", "ref is at most 64 characters");
  // The nick comes from the connection, never from the message; the id from the store, which
  // answers a cid it stored already with that message's id.
  stored_message m{rm->name, 0, c.nick, text, now_(), cid, c.user};
  m.ref_id = std::max<std::int64_t>(0, reply_to);
  m.file = *file;
  // What they typed is said: the next keystroke is a new message, announced at once.
  if (user* u = user_of(c)) u->typed_ms.erase(rm->name);
  const std::uint64_t sender = r.id;
  ++rm->appending;
  store_.append_once(std::move(m), [this, sender, name = rm->name, serial = rm->serial,
                                    ref = std::move(ref), cid](append_result a) {
    if (room* live = live_room(name, serial)) --live->appending;
    on_stored(sender, name, {ref, cid}, a);
    release_if_unused(name);
  });
}

std::optional<std::string> hub::attachment_of(client& c, const request& r,
                                              const std::string& feed) {
  const std::string id = r.str("file");
  if (id.empty()) return std::string();
  // Guests upload nothing (uploads need a session), so a guest's `file` is no upload of theirs.
  if (!attachments_ || c.signed_in.empty()) return std::nullopt;
  return attachments_(c.user, feed, id);
}

// The room's feed holds the ack until the message itself has been delivered here: a client
// always sees its message before the ack, whichever of the two the store reports first.
void hub::on_stored(std::uint64_t sender, const std::string& room_name, const send_tag& tag,
                    append_result a) {
  client* c = find_client(sender);
  if (!a.ok) {
    if (c == nullptr) return;
    ++counters_.errors;
    // Without the room, as before cids: an error of a room tells a client its view has a hole.
    send(*c,
         wire::error("store_failed", "the message could not be saved; send it again", {}, tag.cid));
    return;
  }
  if (c) note_sent(*c, room_name, a.id);  // hub_read.cpp
  auto it = rooms_.find(room_name);
  if (it != rooms_.end())
    return carry_out(it->second, it->second.feed.stored(a.id, sender, tag.ref, tag.cid));
  if (c) send_ack(*c, room_name, tag, a.id);
}

// After the message itself: if the sender is still reading its join history, the message waits
// among its held messages, and the ack waits behind it.
void hub::send_ack(client& c, const std::string& room_name, const send_tag& tag, std::int64_t id) {
  std::string out = wire::ack(tag.ref, room_name, id, tag.cid);
  if (auto held = c.syncing.find(room_name); held != c.syncing.end())
    return held->second.acks.push_back(std::move(out));
  send(c, out);
}

// Messages from the store, in id order per room but possibly with gaps (a lost feed): the
// room's feed decides what goes out.
void hub::on_message(const stored_message& m) {
  if (conversations::is_conversation(m.room)) return on_dm_message(m);  // hub_private.cpp
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
      // Not shown: a message a moderator deleted before it went out (a gap's fill).
      if (fold::shown(d->message)) broadcast(rm, wire::message(d->message));
    } else if (auto* k = std::get_if<room_feed::ack>(&a)) {
      if (client* c = find_client(k->sender)) send_ack(*c, rm.name, {k->ref, k->cid}, k->id);
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
  on_resync_feeds([](const std::string&) { return true; });
}

// A sharded store names the feeds of the part of it that came back.
void hub::on_resync_feeds(const std::function<bool(const std::string&)>& pick) {
  // A fill may finish at once and free its room: walk a copy, not the table.
  std::vector<std::pair<std::string, std::uint64_t>> open;
  for (const auto& [name, rm] : rooms_)
    if (rm.feed.ready() && !rm.feed.filling() && pick(name)) open.emplace_back(name, rm.serial);
  for (const auto& [name, serial] : open)
    if (room* rm = live_room(name, serial)) carry_out(*rm, rm->feed.resync());
  std::vector<std::pair<std::string, std::uint64_t>> convos;
  for (const auto& [feed, cv] : convos_)
    if (cv.feed.ready() && !cv.feed.filling() && pick(feed)) convos.emplace_back(feed, cv.serial);
  for (const auto& [feed, serial] : convos)
    if (conversation_state* cv = live_convo(feed, serial)) carry_out(*cv, cv->feed.resync());
}

// A leave says that one node no longer has the member: the member may still be here (it
// reconnected to this node before its dead node's entry expired) or on a third node. Only when
// it is nowhere is it announced, so that no list drops someone who is in the room.
void hub::on_presence(const std::string& room_name, const std::string& nick, bool joined) {
  auto it = rooms_.find(room_name);
  if (it == rooms_.end()) return;
  if (joined) return broadcast(it->second, wire::presence(room_name, nick, true));
  if (listed_here(it->second, nick)) return;
  store_.remote_members(room_name, [this, room_name, nick, serial = it->second.serial](
                                       bool ok, std::vector<std::string> elsewhere) {
    room* rm = live_room(room_name, serial);
    if (rm == nullptr || listed_here(*rm, nick)) return;
    // Unreadable: announced, as before; the next join or refresh lists the member again.
    if (ok && std::find(elsewhere.begin(), elsewhere.end(), nick) != elsewhere.end()) return;
    broadcast(*rm, wire::presence(room_name, nick, false));
  });
}

bool hub::listed_here(const room& rm, std::string_view nick) {
  for (const auto id : rm.members)
    if (const client* c = find_client(id); c != nullptr && c->nick == nick) return true;
  return false;
}

// Per connection rather than through the topic: a typing event is the first thing a slow
// reader goes without (session::send's `droppable`), which one frame for all cannot offer.
// Members still reading their history go without it too.
void hub::on_typing(client& c, const request& r) {
  room* rm = joined_room(c, r);
  user* u = user_of(c);
  if (rm == nullptr || u == nullptr) return;
  // The user types, whichever of its sessions says so: one event per interval, and none to the
  // user's own sessions.
  const std::int64_t now = now_();
  auto& last = u->typed_ms[rm->name];
  if (last != 0 && now - last < limits_.typing_interval_ms) return;  // throttled, silently
  last = now;
  tell_typing(*rm, c.nick, c.user);
  store_.typing(rm->name, c.nick, c.user);  // other nodes tell theirs
}

// Another node's member types, throttled there.
void hub::on_remote_typing(const std::string& room_name, const std::string& nick,
                           const std::string& user_key) {
  if (auto it = rooms_.find(room_name); it != rooms_.end()) tell_typing(it->second, nick, user_key);
}

void hub::tell_typing(room& rm, const std::string& nick, const std::string& user_key) {
  const std::string out = wire::typing(rm.name, nick);
  for (auto id : rm.members) {
    if (rm.syncing.contains(id)) continue;
    client* member = find_client(id);
    if (member != nullptr && member->user != user_key) send(*member, out, true);
  }
}

// To every member but `except`, which must not be listening to the topic yet (a joiner whose
// history is being read).
void hub::broadcast(room& rm, const std::string& out, std::uint64_t except) {
  publish(rm.topic, out, rm.members.size() - rm.syncing.size());
  if (rm.syncing.empty()) return;
  // A copy: holding may close a client, and nothing may change the set walked.
  const std::vector<std::uint64_t> syncing(rm.syncing.begin(), rm.syncing.end());
  for (auto id : syncing)
    if (client* c = id != except ? find_client(id) : nullptr) hold(*c, rm.name, out);
}

// A client so far behind that more than a thousand messages would wait for it is closed.
void hub::hold(client& c, const std::string& room_name, const std::string& out) {
  constexpr std::size_t max_held = 1000;
  auto sync = c.syncing.find(room_name);
  if (sync == c.syncing.end()) return;
  if (sync->second.held.size() < max_held) return sync->second.held.push_back(out);
  if (c.closing) return;
  c.closing = true;
  c.s->close(ws::close_code::try_again_later, "too far behind; reconnect");
}

void hub::listen(client& c, room& rm) {
  rm.syncing.erase(c.id);
  c.s->subscribe(rm.topic);
}

void hub::stop_listening(client& c, room& rm) {
  c.s->unsubscribe(rm.topic);
}

}  // namespace duplex::chat
