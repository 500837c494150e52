// Names and users: who a connection is, presence as the user's, and what reaches every session
// of a user (its topic).
#include <algorithm>

#include "hub.hpp"
#include "names.hpp"
#include "token.hpp"

namespace duplex::chat {

std::string hub::user_topic(std::string_view user_key) {
  return "chat/user/" + std::string(user_key);
}

hub::user* hub::user_of(const client& c) {
  if (c.user.empty()) return nullptr;
  auto it = users_.find(c.user);
  return it == users_.end() ? nullptr : &it->second;
}

void hub::on_hello(client& c, const request& r) {
  if (!c.nick.empty()) return error(c, "already_named", "the nickname is set for this connection");
  const bool signed_in = !c.signed_in.empty();
  auto proposed = names::validate(signed_in ? c.signed_in : r.str("nick"));
  if (!proposed) return error(c, "invalid_nick", proposed.reason);
  // A signed-in user is its account, whatever name it shows (a display name may change).
  const std::string key = signed_in && !c.account.empty() ? c.account : proposed.key;
  if (!signed_in && registered_ && registered_(proposed))
    return error(c, "nick_taken", "that name belongs to a registered user: sign in to use it");
  if (signed_in) {
    // The owner is back: a guest who took the name (or one like it) before it was registered,
    // or while nobody checked, gives it up.
    evict_guest(proposed.key);
    if (key != proposed.key) evict_guest(key);
    if (auto it = look_alikes_.find(proposed.skeleton); it != look_alikes_.end())
      evict_guest(std::string(it->second));
  }
  if (auto it = look_alikes_.find(proposed.skeleton); it != look_alikes_.end() && it->second != key)
    return error(c, "nick_taken", "a nickname that looks the same is in use");
  if (auto it = users_.find(key); it != users_.end()) {
    // A signed-in user's sessions all share the name; a guest's name is its one connection's,
    // which only that guest reconnecting can take over. Nobody else gets it.
    const bool shared = signed_in && it->second.signed_in;
    if (!shared && (signed_in || it->second.signed_in || !take_over(it->second, r)))
      return error(c, "nick_taken", "that nickname is in use");
  }
  name_session(c, proposed, key, signed_in);
}

std::string hub::key_of_name(std::string_view shown) const {
  std::string typed = names::key(shown);
  if (typed.empty()) return typed;
  if (auto it = shown_keys_.find(typed); it != shown_keys_.end()) return it->second;
  if (directory_.account)
    if (auto account = directory_.account(typed)) return *account;
  return typed;
}

void hub::evict_guest(const std::string& key) {
  auto it = users_.find(key);
  if (it == users_.end() || it->second.signed_in) return;
  const auto sessions = it->second.sessions;  // the entry goes with its last session
  for (auto id : sessions) {
    client* old = find_client(id);
    if (old == nullptr) continue;
    while (!old->rooms.empty())
      leave_room(*old, *old->rooms.begin(), false);
    drop_session(*old);
    old->closing = true;
    old->s->close(close_name_claimed, "the name was claimed by its registered user");
  }
}

// The token from an earlier welcome proves this is the same guest reconnecting before the
// server noticed the old connection was gone: the new connection takes the name over.
bool hub::take_over(user& u, const request& r) {
  const std::string token = r.str("token");
  client* old = nullptr;
  for (auto id : u.sessions)
    if (client* s = find_client(id); s != nullptr && !s->token.empty() && s->token == token)
      old = s;
  if (old == nullptr) return false;
  while (!old->rooms.empty())
    leave_room(*old, *old->rooms.begin(), false);
  drop_session(*old);  // `u` goes with its last session
  old->closing = true;
  old->s->close(close_replaced, "replaced by a newer connection");
  return true;
}

void hub::name_session(client& c, const names::result& name, const std::string& key,
                       bool signed_in) {
  user& u = users_[key];
  if (u.sessions.empty()) {
    u.name = name.name;
    u.shown_key = name.key;
    shown_keys_[u.shown_key] = key;
    u.skeleton = name.skeleton;
    u.signed_in = signed_in;
    u.bucket = c.bucket;  // what the connection spent before its hello still counts
    u.signals = c.signals;
    look_alikes_.emplace(u.skeleton, key);
    // Its private messages, stored by whichever node, reach this one while it is here.
    if (signed_in) store_.watch_user(key, true);
  }
  u.sessions.push_back(c.id);
  c.nick = signed_in ? u.name : wire::guest_name(u.name);
  c.user = key;
  c.token = random_token();
  // A signed-in user's welcome waits for its conversations and read marks (hub_private.cpp),
  // and carries its stored rooms.
  if (signed_in) return welcome_user(c);
  c.welcomed = true;
  send(c, wire::welcome(c.nick, c.token, limits_.max_text_bytes));
  c.s->subscribe(user_topic(key));
}

// The session no longer has a name; a user whose last session this was is gone.
void hub::drop_session(client& c) {
  if (user* u = user_of(c)) {
    std::erase(u->sessions, c.id);
    std::erase(u->priv.waiting, c.id);
    if (c.welcomed) c.s->unsubscribe(user_topic(c.user));
    if (u->sessions.empty()) {
      look_alikes_.erase(u->skeleton);
      shown_keys_.erase(u->shown_key);
      const std::string key = c.user;
      if (u->signed_in) store_.watch_user(key, false);
      users_.erase(key);
      release_convos_of(key);
    }
  }
  c.nick.clear();
  c.user.clear();
  c.welcomed = false;
}

// Presence is the user's: announced when its first session enters a room, and when its last
// leaves.
// Only a real join says so: a guest's (its membership is its connection's) or a signed-in
// user's first (admit), not a new tab's or a reconnection's.
void hub::entered(client& c, room& rm) {
  user* u = user_of(c);
  if (u == nullptr) return;
  const bool real = c.announce.erase(rm.name) > 0 || !u->signed_in;
  if (u->rooms[rm.name]++ != 0) return;
  ++rm.people;
  if (!u->signed_in) ++rm.guests;
  if (real) broadcast(rm, wire::presence(rm.name, c.nick, true), c.id);
  if (!real) broadcast(rm, wire::status(rm.name, c.nick, true), c.id);  // back, not new
  if (real && u->signed_in) announce_room(rm.name);                     // the member count changed
  store_.set_presence(rm.name, c.nick, true);
}

void hub::left(client& c, room& rm, bool quiet) {
  user* u = user_of(c);
  if (u == nullptr) return;
  auto it = u->rooms.find(rm.name);
  if (it == u->rooms.end() || --it->second != 0) return;
  u->rooms.erase(it);
  u->typed_ms.erase(rm.name);
  --rm.people;
  if (!u->signed_in) --rm.guests;
  store_.set_presence(rm.name, c.nick, false);
  // A signed-in user whose last tab closed is still a member: no line, only its status.
  if (!quiet && !u->signed_in) broadcast(rm, wire::presence(rm.name, c.nick, false));
  if (!quiet && u->signed_in) broadcast(rm, wire::status(rm.name, c.nick, false));
}

void hub::publish(const std::string& topic, const std::string& out, std::size_t listeners) {
  if (listeners == 0) return;
  topics_.publish(topic, out);
  counters_.messages_out += listeners;
  counters_.bytes_out += out.size() * listeners;
}

}  // namespace duplex::chat
