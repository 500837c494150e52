// What owners and moderators do to a room's members and messages: invite, kick, ban, unban,
// mute, delete, promote, topic. Each is checked against the stored roles: a member who sends
// one gets "forbidden" and nothing changes.
#include <algorithm>

#include "hub.hpp"
#include "names.hpp"

namespace duplex::chat {
namespace {

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}

}  // namespace

struct hub::target {
  room_record room;
  member_record actor;
  std::string user;
  std::string shown;
  std::optional<member_record> record;
};

// The room exists, the sender is its owner (or a moderator, unless `owner_only`), and the
// user it names (when `needs_user`) is somebody else whom the sender outranks.
std::optional<hub::target> hub::moderation(client& c, const request& r, bool owner_only,
                                           bool needs_user) {
  const std::string raw = r.str("room");
  if (!names::valid_room(raw)) {
    error(c, "invalid_room", "1 to 32 of a-z, 0-9, - and _");
    return std::nullopt;
  }
  const std::string name = names::room_key(raw);
  auto rec = dir_.find(name);
  if (!rec) {
    error(c, "no_such_room", "no room by that name", name);
    return std::nullopt;
  }
  auto me = dir_.member(name, c.user);
  // A ban settles it even where a role survived it: another node's write of the role may have
  // raced the ban's removal of the membership.
  const bool allowed =
      me && (me->role == room_role::owner || (!owner_only && me->role == room_role::moderator)) &&
      !dir_.banned(name, c.user);
  if (!allowed) {
    error(c, "forbidden",
          owner_only ? "only the room's owner can do that"
                     : "only the room's owner and moderators can do that",
          name);
    return std::nullopt;
  }
  target t{*rec, *me, {}, {}, {}};
  if (!needs_user) return t;
  const std::string who = r.str("user");
  t.user = key_of_name(who);
  if (who.empty() || who.size() > 256 || t.user.empty()) {
    error(c, "invalid_user", "name the user", name);
    return std::nullopt;
  }
  if (t.user == c.user) {
    error(c, "invalid_target", "not on yourself", name);
    return std::nullopt;
  }
  t.record = dir_.member(name, t.user);
  if (auto u = users_.find(t.user); u != users_.end()) t.shown = u->second.name;
  if (t.record) t.shown = t.record->name;
  const room_role role = t.record ? t.record->role : room_role::member;
  if (role == room_role::owner || (role == room_role::moderator && me->role != room_role::owner)) {
    error(c, "forbidden", "you cannot do that to the room's owner or to a fellow moderator", name);
    return std::nullopt;
  }
  return t;
}

// A kick takes the user out; a ban also keeps it out. The target must be a member (stored, or a
// guest here), or for a ban someone online: a table of bans only grows by names people use.
void hub::on_kick(client& c, const request& r, bool ban) {
  auto t = moderation(c, r, false, true);
  if (!t) return;
  const std::string& name = t->room.name;
  const auto online = users_.find(t->user);
  bool here = false;
  if (online != users_.end()) here = online->second.rooms.contains(name);
  if (!t->record && !here && !(ban && online != users_.end()))
    return error(c, "not_member", "that user is not in the room", name);
  if (ban) {
    dir_.set_banned(name, t->user, true);
    dir_.set_invited(name, t->user, false);
  }
  expel(name, t->user, t->shown, ban ? "banned" : "kicked", c.nick);
}

void hub::on_unban(client& c, const request& r) {
  auto t = moderation(c, r, false, true);
  if (!t) return;
  if (!dir_.banned(t->room.name, t->user))
    return error(c, "not_banned", "that user is not banned", t->room.name);
  dir_.set_banned(t->room.name, t->user, false);
  send(c, wire::done("unban", t->room.name, r.str("user")));
}

// An invitation lets the user into an invite-only room once; it is told at once if online.
void hub::on_invite(client& c, const request& r) {
  auto t = moderation(c, r, false, true);
  if (!t) return;
  const std::string& name = t->room.name;
  // An invitation waits for a registered user who is away: the room shows in their directory.
  auto u = users_.find(t->user);
  const bool online = u != users_.end() && u->second.signed_in;
  std::optional<std::string> shown;
  if (online)
    shown = u->second.name;
  else if (directory_.shown)
    shown = directory_.shown(t->user);
  if (!shown) return error(c, "no_such_user", "nobody is registered by that name", name);
  if (t->record) return error(c, "already_member", "that user is a member already", name);
  if (dir_.banned(name, t->user)) return error(c, "banned", "unban that user first", name);
  dir_.set_invited(name, t->user, true);
  if (online)
    publish(user_topic(t->user), wire::invited(name, c.nick, t->room.topic),
            u->second.sessions.size());
  send(c, wire::done("invite", name, *shown));
}

// `seconds` 0 lifts the mute. Mutes are stored with the membership: signed-in members only.
void hub::on_mute(client& c, const request& r) {
  auto t = moderation(c, r, false, true);
  if (!t) return;
  const std::string& name = t->room.name;
  if (!t->record) return error(c, "not_member", "only a signed-in member can be muted", name);
  const std::int64_t seconds = r.integer("seconds");
  if (seconds < 0 || seconds > limits_.max_mute_seconds)
    return error(c, "invalid_duration", "seconds: 0 (unmute) to the operator's maximum", name);
  t->record->muted_until_ms = seconds == 0 ? 0 : now_() + seconds * 1000;
  dir_.put_member(name, *t->record);
  const std::string out = wire::muted(name, t->record->muted_until_ms, c.nick);
  if (auto u = users_.find(t->user); u != users_.end())
    for (auto id : u->second.sessions)
      if (client* s = find_client(id)) {
        if (s->rooms.contains(name)) s->muted_until[name] = t->record->muted_until_ms;
        send(*s, out);
      }
  send(c, wire::done("mute", name, t->shown));
}

// The text goes from the store; everyone in the room is told, and history no longer has it.
void hub::on_delete(client& c, const request& r) {
  auto t = moderation(c, r, false, false);
  if (!t) return;
  const std::int64_t id = r.integer("id");
  if (id <= 0) return error(c, "invalid_id", "id: a message's id", t->room.name);
  const std::uint64_t cid = c.id;
  store_.erase(t->room.name, id,
               [this, cid, name = t->room.name, id, by = c.nick](bool ok, bool found) {
                 client* cl = find_client(cid);
                 if (!ok) {
                   if (cl) error(*cl, "store_failed", "the message could not be deleted", name);
                   return;
                 }
                 if (!found) {
                   if (cl) error(*cl, "no_such_message", "no message with that id", name);
                   return;
                 }
                 const std::string out = wire::deleted(name, id, by);
                 if (auto it = rooms_.find(name); it != rooms_.end())
                   broadcast(it->second, out);
                 else if (cl)
                   send(*cl, out);
               });
}

void hub::on_promote(client& c, const request& r) {
  auto t = moderation(c, r, true, true);
  if (!t) return;
  const std::string& name = t->room.name;
  auto role = parse_room_role(r.str("role"));
  if (!role || *role == room_role::owner)
    return error(c, "invalid_role", "role: moderator or member", name);
  if (!t->record) return error(c, "not_member", "only a signed-in member can be promoted", name);
  t->record->role = *role;
  dir_.put_member(name, *t->record);
  announce_room(name);
}

void hub::on_topic(client& c, const request& r) {
  auto t = moderation(c, r, true, false);
  if (!t) return;
  const std::string topic = r.str("topic");
  if (topic.size() > limits_.max_topic_bytes || has_control(topic))
    return error(c, "invalid_topic", "a topic is one line of at most 256 bytes", t->room.name);
  t->room.topic = topic;
  dir_.update(t->room);
  announce_room(t->room.name);
}

wire::room_view hub::view_of(const room_record& rec, const std::string& reader) {
  wire::room_view v{rec, dir_.member_count(rec.name), {}, {}, {}};
  for (const auto& m : dir_.members(rec.name, limits_.member_list)) {
    if (m.role == room_role::moderator) v.moderators.push_back(m.name);
    if (m.role == room_role::owner) v.owner_name = m.name;
  }
  if (auto me = dir_.member(rec.name, reader)) v.role = room_role_name(me->role);
  if (auto it = rooms_.find(rec.name); it != rooms_.end()) v.members += it->second.guests;
  return v;
}

// The room's description, to everyone here in it, after a change.
void hub::announce_room(const std::string& room_name) {
  auto it = rooms_.find(room_name);
  if (it == rooms_.end()) return;
  try {
    if (auto rec = dir_.find(room_name)) broadcast(it->second, wire::room_info(view_of(*rec, {})));
  } catch (const std::exception&) {
    // The change itself was made; the description comes with the next one or the next join.
  }
}

std::vector<std::string> hub::stored_member_names(const std::string& room_name) {
  std::vector<std::string> out;
  try {
    for (auto& m : dir_.members(room_name, limits_.member_list))
      out.push_back(std::move(m.name));
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace duplex::chat
