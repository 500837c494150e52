// Changes other nodes make to a shared room directory (--pg: pg_directory.hpp): this node's
// sessions follow them. Nothing of the directory is kept here between requests (each check
// reads it), so there is no copy to refresh: what follows a change is the sessions already in
// the room, which a ban or an expulsion elsewhere takes out, and a mute elsewhere reaches.
#include <exception>

#include "hub.hpp"

namespace duplex::chat {

bool hub::room_changed(const std::string& room_name, const std::string& user_key, bool announce) {
  if (!rooms_.contains(room_name)) return true;  // nobody here is in it
  try {
    if (!user_key.empty())
      follow_member(room_name, user_key);
    else
      follow_guests(room_name);
    if (announce) announce_room(room_name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::pair<std::string, std::string>> hub::directory_holds() const {
  std::vector<std::pair<std::string, std::string>> here;
  for (const auto& [key, u] : users_)
    for (const auto& [name, n] : u.rooms)
      here.emplace_back(name, key);
  return here;
}

// The user's sessions here in the room leave it when the directory says the user is banned
// from it, or (signed in) no longer a member; else they take its mute. A kick elsewhere reads as
// a leave here: the directory keeps no reason.
void hub::follow_member(const std::string& room_name, const std::string& user_key) {
  auto u = users_.find(user_key);
  if (u == users_.end() || !u->second.rooms.contains(room_name)) return;
  std::string_view reason;
  std::optional<member_record> rec;
  if (dir_.banned(room_name, user_key)) {
    reason = "banned";
  } else if (u->second.signed_in) {
    rec = dir_.member(room_name, user_key);
    if (!rec) reason = "removed";
  } else if (auto stored = dir_.find(room_name);
             stored && stored->invite_only && !dir_.invited(room_name, user_key)) {
    reason = "removed";  // a guest in a room that was made invite-only meanwhile
  }
  if (reason.empty() && !rec) return;  // a guest, neither banned nor stored
  const std::string shown = u->second.name;
  const std::vector<std::uint64_t> sessions = u->second.sessions;  // leaving may change it
  for (auto id : sessions) {
    client* s = find_client(id);
    if (s == nullptr || !s->rooms.contains(room_name)) continue;
    if (!reason.empty()) {
      leave_room(*s, room_name, true, true, reason == "banned" ? reason : "", "");
    } else if (auto& until = s->muted_until[room_name]; until != rec->muted_until_ms) {
      until = rec->muted_until_ms;  // a join without a mute leaves no entry: 0
      send(*s, wire::muted(room_name, until, ""));
    }
  }
  if (reason.empty()) return;
  if (auto it = rooms_.find(room_name); it != rooms_.end())
    broadcast(it->second,
              wire::presence_left(room_name, shown, reason == "banned" ? reason : "", ""));
}

// A guest has no membership to change, so a change to the room's own row (made, or made
// invite-only, by another node) is when its guests here are checked against it.
void hub::follow_guests(const std::string& room_name) {
  auto it = rooms_.find(room_name);
  if (it == rooms_.end()) return;
  // Only an invite-only room turns guests away (a ban names its guest, and comes as a change
  // of its own): one read for the room, not three for each guest in it.
  const auto stored = dir_.find(room_name);
  if (!stored || !stored->invite_only) return;
  std::set<std::string> guests;
  for (auto id : it->second.members)
    if (const client* c = find_client(id); c != nullptr)
      if (const user* u = user_of(*c); u != nullptr && !u->signed_in) guests.insert(c->user);
  for (const auto& key : guests)
    follow_member(room_name, key);
}

}  // namespace duplex::chat
