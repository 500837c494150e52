// Private conversations (issue 11, item 5): stored like a room's messages, in one feed per
// pair of signed-in users, and delivered to every session of both through their user topics.
// Every request names its conversation (`with`): nothing here ever falls back to a room.
#include <algorithm>
#include <exception>

#include "conversations.hpp"
#include "hub.hpp"
#include "names.hpp"

namespace duplex::chat {

using load = private_state::load;

// ----- a signed-in user's welcome, once its conversations and read marks are read

void hub::welcome_user(client& c) {
  user* u = user_of(c);
  if (u == nullptr) return;
  if (u->priv.state == load::loaded) return send_welcome(c, *u);
  u->priv.waiting.push_back(c.id);
  load_user(c.user, *u);
}

// The store may answer from inside the call.
void hub::load_user(const std::string& key, user& u) {
  if (u.priv.state == load::loading) return;
  u.priv.state = load::loading;
  store_.load_user(
      key, [this, key](bool ok, user_record rec) { on_user_loaded(key, ok, std::move(rec)); });
}

void hub::on_user_loaded(const std::string& key, bool ok, user_record rec) {
  auto it = users_.find(key);
  if (it == users_.end() || it->second.priv.state != load::loading) return;  // gone meanwhile
  user& u = it->second;
  // Merged with what arrived while the store was read: the highest of each wins.
  for (auto& c : rec.conversations) {
    if (u.priv.peers.size() >= store::max_listed_conversations) break;
    auto& p = u.priv.peers[c.peer];
    p.name = std::move(c.peer_name);
    p.feed = std::move(c.feed);
    p.last_id = std::max(p.last_id, c.last_id);
  }
  for (auto& [feed, id] : rec.read_marks) {
    if (u.priv.read.size() >= store::max_listed_marks) break;
    auto& mark = u.priv.read[feed];
    mark = std::max(mark, id);
  }
  u.priv.state = ok ? load::loaded : load::none;  // a failed read is tried again on request
  const auto waiting = std::move(u.priv.waiting);
  const auto asking = std::move(u.priv.asking);
  u.priv.waiting.clear();
  u.priv.asking.clear();
  for (auto id : waiting)
    if (client* c = find_client(id); c != nullptr && !c->closing) {
      send_welcome(*c, u);
      if (!ok) error(*c, "store_failed", "your conversations are unavailable; ask again");
    }
  for (auto id : asking)
    if (client* c = find_client(id); c != nullptr && !c->closing) {
      if (!ok)
        error(*c, "store_failed", "your conversations are unavailable; ask again");
      else
        send(*c, wire::conversation_list(summaries(u)));
    }
}

// A signed-in user's rooms are the user's: every new session is told them, and joining them
// again is no real join (no presence line).
void hub::send_welcome(client& c, user& u) {
  c.welcomed = true;
  std::vector<std::string> rooms;
  try {
    rooms = dir_.rooms_of(c.user);
  } catch (const std::exception&) {
    error(c, "store_failed", "your rooms are unavailable; join them again later");
  }
  send(c, wire::welcome(c.nick, c.token, summaries(u), rooms, limits_.max_text_bytes));
  c.s->subscribe(user_topic(c.user));
}

std::vector<wire::conversation_summary> hub::summaries(const user& u) const {
  std::vector<wire::conversation_summary> out;
  for (const auto& [key, p] : u.priv.peers) {
    const std::int64_t read = last_read(u, p.feed);
    out.push_back({p.name, p.last_id, {read, std::max<std::int64_t>(0, p.last_id - read)}});
  }
  return out;
}

void hub::on_conversations(client& c) {
  user* u = signed_in_user(c);
  if (u == nullptr) return;
  if (u->priv.state == load::loaded) return send(c, wire::conversation_list(summaries(*u)));
  u->priv.asking.push_back(c.id);
  load_user(c.user, *u);
}

// ----- who a conversation is with

hub::user* hub::signed_in_user(client& c) {
  user* u = user_of(c);
  if (u != nullptr && u->signed_in) return u;
  error(c, "signed_in_only", "private conversations and read marks need a signed-in user");
  return nullptr;
}

bool hub::online_here(const std::string& key) const {
  auto it = users_.find(key);
  return it != users_.end() && it->second.signed_in;
}

// A registered user's name; guests are nobody's to write to.
std::optional<std::string> hub::name_of_key(const std::string& key) {
  if (auto it = users_.find(key); it != users_.end() && it->second.signed_in)
    return it->second.name;
  if (directory_.shown) return directory_.shown(key);
  return std::nullopt;
}

// The name of `key` as a conversation with `other_key` shows it, as well as this node knows.
std::string hub::shown_name(const std::string& key, const std::string& other_key) {
  if (auto it = users_.find(other_key); it != users_.end())
    if (auto p = it->second.priv.peers.find(key); p != it->second.priv.peers.end())
      return p->second.name;
  return name_of_key(key).value_or(key);
}

// `with` is a name as shown: the peer's now, or the one a conversation was listed under.
std::optional<hub::peer_ref> hub::peer_of(client& c, user& me, const request& r) {
  const std::string with = r.str("with");
  const std::string typed = names::key(with);
  for (const auto& [peer_key, p] : me.priv.peers)
    if (!typed.empty() && names::key(p.name) == typed) return peer_ref{peer_key, p.name};
  const std::string key = key_of_name(with);
  if (key == c.user) {
    error(c, "self_conversation", "a conversation needs someone else");
    return std::nullopt;
  }
  if (auto it = me.priv.peers.find(key); !key.empty() && it != me.priv.peers.end())
    return peer_ref{key, it->second.name};
  auto name = key.empty() ? std::nullopt : name_of_key(key);
  if (!name) {
    send(c, wire::dm_error("no_such_user", "no registered user has that name", with));
    ++counters_.errors;
    return std::nullopt;
  }
  return peer_ref{key, std::move(*name)};
}

// ----- sending

void hub::on_dm(client& c, const request& r) {
  user* me = signed_in_user(c);
  if (me == nullptr) return;
  auto peer = peer_of(c, *me, r);
  if (!peer) return;
  std::string cid = r.str("cid");
  if (!cid.empty() && !wire::valid_cid(cid, limits_.max_cid_chars)) cid.clear();
  auto refuse = [&](std::string_view code, std::string_view why) {
    ++counters_.errors;
    send(c, wire::dm_error(code, why, peer->name, cid));
  };
  if (cid.empty() && !r.str("cid").empty())
    return refuse("invalid_cid", "cid is 1 to 64 of A-Z a-z 0-9 _ -");
  const std::string feed = conversations::feed_of(c.user, peer->key);
  const auto file = attachment_of(c, r, feed);
  if (!file) return refuse("invalid_file", "attach a file you uploaded for this conversation");
  const std::string text = r.str("text");
  // A file may go without a word (hub_edits.cpp has the text rules).
  if (auto bad = text_problem(text); bad && !(text.empty() && !file->empty()))
    return refuse(bad->code, bad->message);
  std::string ref = r.str("ref");
  if (code_points(ref) > limits_.max_ref_chars)
    return refuse("invalid_ref", "ref is at most 64 characters");
  conversation_state* cv = convo_named(feed, {c.user, c.nick}, *peer);
  if (cv == nullptr) return refuse("server_full", "no more conversations on this server");
  // A reply points at an id this conversation delivered, as far as this node knows.
  const std::int64_t reply_to = r.integer("reply_to");
  std::int64_t known = cv->feed.ready() ? cv->feed.delivered_id() : 0;
  if (auto p = me->priv.peers.find(peer->key); p != me->priv.peers.end())
    known = std::max(known, p->second.last_id);
  if (auto bad = reply_problem(reply_to, known)) return refuse(bad->code, bad->message);
  stored_message m{feed, 0, c.nick, text, now_(), cid, c.user};
  m.ref_id = std::max<std::int64_t>(0, reply_to);
  m.file = *file;
  // Every time, not only the first: it costs an index probe, and a failed first write is
  // mended by the next message.
  store_.add_conversation(feed, c.user, c.nick, peer->key, peer->name);
  note_peer(c.user, *peer, feed, 0);
  note_peer(peer->key, {c.user, c.nick}, feed, 0);
  ++cv->appending;
  store_.append_once(std::move(m), [this, sender = r.id, feed, serial = cv->serial,
                                    ref = std::move(ref), cid](append_result a) {
    if (conversation_state* live = live_convo(feed, serial)) --live->appending;
    on_dm_stored(sender, feed, {ref, cid}, a);
    release_convo_if_unused(feed);
  });
}

// As in a room, the ack waits until the message itself has gone to the sender.
void hub::on_dm_stored(std::uint64_t sender, const std::string& feed, const send_tag& tag,
                       append_result a) {
  const std::int64_t id = a.id;
  client* c = find_client(sender);
  const auto keys = conversations::members(feed);
  if (c == nullptr || c->user.empty() || !keys) return;
  const std::string& other = keys->first == c->user ? keys->second : keys->first;
  if (!a.ok) {
    ++counters_.errors;
    return send(*c, wire::dm_error("store_failed", "the message could not be saved; send it again",
                                   shown_name(other, c->user), tag.cid));
  }
  note_sent(*c, feed, id);
  auto it = convos_.find(feed);
  // A duplicate was delivered when it was first stored: a feed not open yet must not start
  // below the ids delivered since.
  if (it == convos_.end() || (a.duplicate && !it->second.feed.ready()))
    return send(*c, wire::dm_ack(tag.ref, shown_name(other, c->user), id, tag.cid));
  // Not open yet (its message not seen): it starts here, so that a lost message is read back
  // by the next resync instead of holding the ack for good.
  conversation_state& cv = it->second;
  room_feed::actions actions = cv.feed.ready() ? room_feed::actions{} : cv.feed.open(id - 1);
  for (auto& k : cv.feed.stored(id, sender, tag.ref, tag.cid))
    actions.push_back(std::move(k));
  carry_out(cv, std::move(actions));
}

// ----- conversations in memory

conversation_state* hub::convo_named(const std::string& feed, const peer_ref& a,
                                     const peer_ref& b) {
  if (auto it = convos_.find(feed); it != convos_.end()) return &it->second;
  if (convos_.size() >= limits_.max_conversations) return nullptr;
  conversation_state& cv = convos_[feed];
  cv.name = feed;
  cv.a = {a.key, a.name};
  cv.b = {b.key, b.name};
  if (cv.b.key < cv.a.key) std::swap(cv.a, cv.b);
  cv.serial = next_convo_serial_++;
  return &cv;
}

conversation_state* hub::live_convo(const std::string& feed, std::uint64_t serial) {
  auto it = convos_.find(feed);
  return it != convos_.end() && it->second.serial == serial ? &it->second : nullptr;
}

// A conversation lives in memory while a participant is online here or work is under way.
void hub::release_convo_if_unused(const std::string& feed) {
  auto it = convos_.find(feed);
  if (it == convos_.end()) return;
  const conversation_state& cv = it->second;
  if (cv.feed.busy() || cv.appending != 0 || cv.pins != 0) return;
  if (online_here(cv.a.key) || online_here(cv.b.key)) return;
  convos_.erase(it);
}

void hub::release_convos_of(const std::string& user_key) {
  std::vector<std::string> mine;
  for (const auto& [feed, cv] : convos_)
    if (cv.a.key == user_key || cv.b.key == user_key) mine.push_back(feed);
  for (const auto& feed : mine)
    release_convo_if_unused(feed);
}

// The store's feed: a conversation nobody here takes part in is none of this node's business.
// One seen for the first time starts at this message (what came before is history).
void hub::on_dm_message(const stored_message& m) {
  auto it = convos_.find(m.room);
  if (it == convos_.end()) {
    const auto keys = conversations::members(m.room);
    if (!keys || (!online_here(keys->first) && !online_here(keys->second))) return;
    const peer_ref a{keys->first, shown_name(keys->first, keys->second)};
    const peer_ref b{keys->second, shown_name(keys->second, keys->first)};
    if (convo_named(m.room, a, b) == nullptr) {  // full: delivered without a feed's order
      // Once: the bus brings it on each participant's channel this node listens to.
      if (!unordered_dms_.first_time(m.room, m.id)) return;
      conversation_state once;
      once.name = m.room;
      once.a = {a.key, a.name};
      once.b = {b.key, b.name};
      return deliver_dm(once, m);
    }
    it = convos_.find(m.room);
  }
  conversation_state& cv = it->second;
  room_feed::actions actions = cv.feed.ready() ? room_feed::actions{} : cv.feed.open(m.id - 1);
  for (auto& a : cv.feed.message(m))
    actions.push_back(std::move(a));
  carry_out(cv, std::move(actions));
}

void hub::carry_out(conversation_state& cv, room_feed::actions actions) {
  const std::string feed = cv.name;
  ++cv.pins;
  for (auto& a : actions) {
    if (auto* d = std::get_if<room_feed::deliver>(&a)) {
      deliver_dm(cv, d->message);
    } else if (auto* k = std::get_if<room_feed::ack>(&a)) {
      client* c = find_client(k->sender);
      if (c != nullptr && !c->closing && !c->user.empty())
        send(*c, wire::dm_ack(k->ref, cv.other(c->user).name, k->id, k->cid));
    } else if (auto* f = std::get_if<room_feed::fetch>(&a)) {
      store_.range(feed, f->after_id, f->up_to, f->limit,
                   [this, feed, serial = cv.serial](bool ok, std::vector<stored_message> msgs) {
                     if (conversation_state* live = live_convo(feed, serial))
                       carry_out(*live, live->feed.filled(ok, std::move(msgs)));
                   });
    }
  }
  --cv.pins;
  release_convo_if_unused(feed);
}

// One frame per user, named after the other one: every session of both gets it.
void hub::deliver_dm(conversation_state& cv, const stored_message& m) {
  for (const auto* side : {&cv.a, &cv.b}) {
    auto it = users_.find(side->key);
    if (it == users_.end() || !it->second.signed_in) continue;
    const auto& other = cv.other(side->key);
    note_peer(side->key, {other.key, other.name}, cv.name, m.id);
    publish(user_topic(side->key), wire::dm(other.name, m), it->second.sessions.size());
  }
}

// The user's list of conversations, if it is online here: bounded like the store's.
void hub::note_peer(const std::string& user_key, const peer_ref& peer, const std::string& feed,
                    std::int64_t id) {
  auto it = users_.find(user_key);
  if (it == users_.end() || !it->second.signed_in) return;
  auto& peers = it->second.priv.peers;
  auto p = peers.find(peer.key);
  if (p == peers.end()) {
    if (peers.size() >= store::max_listed_conversations) return;
    p = peers.emplace(peer.key, private_state::peer{peer.name, feed, 0}).first;
  }
  p->second.last_id = std::max(p->second.last_id, id);
}

// ----- reading

void hub::on_conversation(client& c, const request& r) {
  user* me = signed_in_user(c);
  if (me == nullptr) return;
  auto peer = peer_of(c, *me, r);
  if (!peer) return;
  const std::string feed = conversations::feed_of(c.user, peer->key);
  const std::int64_t since = r.integer("since");
  store_.last_id(
      feed, [this, cid = c.id, with = peer->name, feed, since](bool ok, std::int64_t last) {
        client* cl = find_client(cid);
        if (cl == nullptr) return;
        if (!ok) return send(*cl, wire::dm_error("store_failed", "history is unavailable", with));
        send_conversation(cid, with, feed, since, last);
      });
}

// Like a join's history: the latest messages, or exactly those after `since`. Messages stored
// meanwhile come as `dm` events, which the client may also have had: it keeps one per id.
void hub::send_conversation(std::uint64_t cid, const std::string& with, const std::string& feed,
                            std::int64_t since, std::int64_t up_to) {
  client* c = find_client(cid);
  if (c == nullptr) return;
  const auto too_old = [this](client& cl, const std::string& w) {
    ++counters_.errors;
    send(cl, wire::dm_error("resume_too_old", "history since that id is not available", w));
  };
  if (since >= 0 &&
      (since > up_to || up_to - since > static_cast<std::int64_t>(limits_.max_resume)))
    return too_old(*c, with);
  auto reply = [this, cid, with, feed, since, up_to, too_old](bool ok,
                                                              std::vector<stored_message> msgs) {
    client* cl = find_client(cid);
    user* u = cl != nullptr ? user_of(*cl) : nullptr;
    if (u == nullptr) return;
    if (!ok) return send(*cl, wire::dm_error("store_failed", "history is unavailable", with));
    if (since >= 0 && since < up_to && (msgs.empty() || msgs.front().id != since + 1))
      return too_old(*cl, with);
    if (up_to > 0) {
      const auto keys = conversations::members(feed);
      if (keys)
        note_peer(cl->user, {keys->first == cl->user ? keys->second : keys->first, with}, feed,
                  up_to);
    }
    const std::int64_t read = last_read(*u, feed);
    const bool start = since < 0 && msgs.size() < limits_.join_history;
    send(*cl, wire::conversation({with, up_to, {read, std::max<std::int64_t>(0, up_to - read)}},
                                 msgs, since >= 0, start));
  };
  if (since < 0) return store_.before(feed, up_to + 1, limits_.join_history, std::move(reply));
  store_.range(feed, since, up_to, limits_.max_resume, std::move(reply));
}

void hub::on_private_history(client& c, const request& r) {
  user* me = signed_in_user(c);
  if (me == nullptr) return;
  auto peer = peer_of(c, *me, r);
  if (!peer) return;
  std::int64_t before = r.integer("before");
  if (before < 0) before = room_feed::to_the_end;
  std::int64_t limit = r.integer("limit");
  if (limit <= 0 || limit > static_cast<std::int64_t>(limits_.history_page))
    limit = static_cast<std::int64_t>(limits_.history_page);
  store_.before(conversations::feed_of(c.user, peer->key), before, static_cast<std::size_t>(limit),
                [this, cid = c.id, with = peer->name, before, limit](
                    bool ok, std::vector<stored_message> msgs) {
                  client* cl = find_client(cid);
                  if (cl == nullptr) return;
                  if (!ok)
                    return send(*cl,
                                wire::dm_error("store_failed", "history is unavailable", with));
                  const bool start = msgs.size() < static_cast<std::size_t>(limit);
                  send(*cl, wire::conversation_page(with, msgs, before, start));
                });
}

}  // namespace duplex::chat
