// The room directory and moderation: who is a member (a signed-in user's rooms are stored and
// outlive its sessions; a guest's are its connection's), creating and listing rooms, invitations,
// and what owners and moderators may do. Every request is checked here, whatever the page shows.
#include <algorithm>
#include <exception>
#include <set>

#include "conversations.hpp"
#include "hub.hpp"
#include "names.hpp"

namespace duplex::chat {
namespace {

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}

}  // namespace

bool hub::is_room_request(const std::string& type) const {
  static const std::set<std::string, std::less<>> types{
      "rooms", "create", "invite", "kick", "ban", "unban", "mute", "delete", "promote", "topic"};
  return types.contains(type);
}

// The directory may fail (a locked or damaged SQLite file): that request gets an error, and the
// loop and every other client go on.
void hub::on_room_request(client& c, const request& r) {
  try {
    dispatch_room_request(c, r);
  } catch (const std::exception&) {
    error(c, "store_failed", "the room directory is unavailable; try again");
  }
}

void hub::dispatch_room_request(client& c, const request& r) {
  if (r.type == "rooms") return on_directory(c, r);
  if (r.type == "create") return on_create(c, r);
  if (r.type == "invite") return on_invite(c, r);
  if (r.type == "kick") return on_kick(c, r, false);
  if (r.type == "ban") return on_kick(c, r, true);
  if (r.type == "unban") return on_unban(c, r);
  if (r.type == "mute") return on_mute(c, r);
  if (r.type == "delete") return on_delete(c, r);
  if (r.type == "promote") return on_promote(c, r);
  if (r.type == "topic") return on_topic(c, r);
}

// A session's fresh join: refused for a banned user, and for an invite-only room without an
// invitation or membership. A signed-in user who is not yet a member becomes one here (a real
// join, announced once the join completes); a guest is a member through its connection only.
bool hub::admit(client& c, const std::string& name) {
  const user* u = user_of(c);
  if (u == nullptr) return false;
  try {
    auto rec = dir_.find(name);
    if (rec && dir_.banned(name, c.user)) {
      error(c, "banned", "you are banned from this room", name);
      return false;
    }
    auto me = u->signed_in ? dir_.member(name, c.user) : std::nullopt;
    if (me) {
      c.muted_until[name] = me->muted_until_ms;
      if (me->name != c.nick) {  // the user shows another name now: the room lists that one
        me->name = c.nick;
        dir_.put_member(name, *me);
      }
      return true;  // another tab, or a reconnection: not a real join
    }
    if (rec && rec->invite_only && !dir_.invited(name, c.user)) {
      error(c, "invite_only", "this room is invite-only: ask its owner or a moderator", name);
      return false;
    }
    if (!u->signed_in) return true;
    if (dir_.rooms_of(c.user).size() >= limits_.max_rooms_per_user) {
      error(c, "too_many_rooms", "leave a room first", name);
      return false;
    }
    if (rec && dir_.member_count(name) >= limits_.max_members_per_room) {
      error(c, "room_full", "the room is full", name);
      return false;
    }
    // A room nobody created (one with history from before the directory, or a join of a new
    // name) is listed without an owner: only `create` makes an owner. Another node may have
    // created it since it was read: then its rules (invite-only, bans) are checked again.
    if (!rec && !dir_.create({name, "", "", false, now_()}) && !admitted_by(c, name)) return false;
    dir_.put_member(name, {c.user, c.nick, room_role::member, 0});
    dir_.set_invited(name, c.user, false);
    c.announce.insert(name);
    return true;
  } catch (const std::exception&) {
    error(c, "store_failed", "the room directory is unavailable; try again", name);
    return false;
  }
}

// The checks of admit() against a room that another node has just created.
bool hub::admitted_by(client& c, const std::string& name) {
  const auto rec = dir_.find(name);
  if (rec && dir_.banned(name, c.user)) {
    error(c, "banned", "you are banned from this room", name);
    return false;
  }
  if (rec && rec->invite_only && !dir_.invited(name, c.user)) {
    error(c, "invite_only", "this room is invite-only: ask its owner or a moderator", name);
    return false;
  }
  return true;
}

// Stored rooms (with their member counts and topics) and rooms with history or people here.
// An invite-only room is listed to its members and invitees only.
void hub::on_directory(client& c, const request& r) {
  const std::string query = r.str("q");
  if (query.size() > 64) return error(c, "invalid_query", "search for at most 64 bytes");
  std::map<std::string, directory_entry> all;
  std::set<std::string> hidden;
  for (auto& e : dir_.search(query, limits_.directory_page)) {
    if (e.room.invite_only && !dir_.member(e.room.name, c.user) &&
        !dir_.invited(e.room.name, c.user))
      hidden.insert(e.room.name);
    else
      all[e.room.name] = std::move(e);
  }
  const std::uint64_t cid = c.id;
  store_.rooms([this, cid, query, all = std::move(all), hidden = std::move(hidden)](
                   bool ok, std::vector<std::string> names) mutable {
    client* cl = find_client(cid);
    if (cl == nullptr) return;
    if (!ok) return error(*cl, "store_failed", "the room list is unavailable");
    auto add = [&](const std::string& name) {
      if (conversations::is_conversation(name)) return;  // a private feed is never a room
      if (all.size() < limits_.directory_page && contains_folded(name, query) &&
          !all.contains(name) && !hidden.contains(name))
        all[name].room.name = name;
    };
    for (const auto& name : names)
      add(name);
    for (const auto& [name, rm] : rooms_)
      add(name);
    std::vector<directory_entry> list;
    for (auto& [name, e] : all) {
      auto it = rooms_.find(name);
      // Guests are members through their connections: counted while here.
      if (it != rooms_.end())
        e.members += e.room.created_ms != 0 ? it->second.guests : it->second.people;
      list.push_back(std::move(e));
    }
    send(*cl, wire::directory(list));
  });
}

void hub::on_create(client& c, const request& r) {
  const user* u = user_of(c);
  if (u == nullptr || !u->signed_in)
    return error(c, "sign_in_required", "guests cannot own rooms: sign in to create one");
  const std::string raw = r.str("room");
  if (!names::valid_room(raw)) return error(c, "invalid_room", "1 to 32 of a-z, 0-9, - and _");
  const std::string name = names::room_key(raw);
  const std::string topic = r.str("topic");
  if (topic.size() > limits_.max_topic_bytes || has_control(topic))
    return error(c, "invalid_topic", "a topic is one line of at most 256 bytes", name);
  if (dir_.find(name)) return error(c, "room_exists", "that room exists: join it", name);
  if (dir_.owned_by(c.user) >= limits_.max_owned_rooms)
    return error(c, "too_many_rooms", "you own as many rooms as you may", name);
  if (dir_.rooms_of(c.user).size() >= limits_.max_rooms_per_user)
    return error(c, "too_many_rooms", "leave a room first", name);
  const bool invite_only = r.body.flag("invite_only");
  // A room with history but no entry (from before the directory) is not up for the taking.
  const std::uint64_t cid = c.id;
  store_.last_id(name, [this, cid, name, topic, invite_only](bool ok, std::int64_t last) {
    client* cl = find_client(cid);
    if (cl == nullptr) return;
    if (!ok) return error(*cl, "store_failed", "history is unavailable", name);
    if (last > 0) return error(*cl, "room_exists", "that room exists: join it", name);
    try {
      create_room(*cl, name, topic, invite_only);
    } catch (const std::exception&) {
      error(*cl, "store_failed", "the room directory is unavailable; try again", name);
    }
  });
}

void hub::create_room(client& c, const std::string& name, const std::string& topic,
                      bool invite_only) {
  if (!dir_.create({name, topic, c.user, invite_only, now_()}))
    return error(c, "room_exists", "that room exists: join it", name);
  dir_.put_member(name, {c.user, c.nick, room_role::owner, 0});
  send(c, wire::created(name));
  c.announce.insert(name);
  join(c, name, -1);
}

// A signed-in user's leave is the user's: every session leaves, and the room is told once.
// The owner who leaves hands the room to a moderator, or leaves it without an owner.
void hub::on_leave_room(client& c, const std::string& name) {
  std::optional<member_record> me;
  try {
    me = dir_.member(name, c.user);
  } catch (const std::exception&) {
    return error(c, "store_failed", "the room directory is unavailable; try again", name);
  }
  if (!me) {
    if (!c.rooms.contains(name)) return error(c, "not_joined", "you are not in that room");
    return leave_room(c, name, true);
  }
  try {
    if (me->role == room_role::owner) {
      if (auto rec = dir_.find(name)) {
        rec->owner.clear();
        for (auto& m : dir_.members(name, limits_.member_list))
          if (m.role == room_role::moderator && rec->owner.empty()) {
            rec->owner = m.user;
            m.role = room_role::owner;
            dir_.put_member(name, m);
          }
        dir_.update(*rec);
      }
    }
    expel(name, c.user, c.nick, "", "");
  } catch (const std::exception&) {
    error(c, "store_failed", "the room directory is unavailable; try again", name);
  }
}

// Takes the user out of the room: the stored membership, every session (each told `left`,
// with the reason), and one presence line for the room.
void hub::expel(const std::string& room_name, const std::string& user_key, const std::string& shown,
                std::string_view reason, std::string_view by) {
  dir_.remove_member(room_name, user_key);
  // A room nobody owns and nobody is in is forgotten (its history stays): joins of new names
  // and leaves cannot fill the directory.
  if (auto rec = dir_.find(room_name);
      rec && rec->owner.empty() && dir_.member_count(room_name) == 0)
    dir_.remove_room(room_name);
  if (auto u = users_.find(user_key); u != users_.end()) {
    const std::vector<std::uint64_t> sessions = u->second.sessions;  // leaving may change it
    for (auto id : sessions) {
      client* s = find_client(id);
      if (s == nullptr) continue;
      if (s->rooms.contains(room_name))
        leave_room(*s, room_name, true, true, reason, by);
      else
        send(*s, wire::left(room_name, reason, by));
    }
  }
  if (auto it = rooms_.find(room_name); it != rooms_.end())
    broadcast(it->second, wire::presence_left(room_name, shown, reason, by));
  announce_room(room_name);
}

}  // namespace duplex::chat
