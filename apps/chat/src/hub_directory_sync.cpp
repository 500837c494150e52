// Changes other nodes make to a shared room directory (--pg: pg_directory.hpp): this node's
// sessions follow them. Nothing of the directory is kept here between requests (each check
// reads it), so there is no copy to refresh: what follows a change is the sessions already in
// the room, which a ban or an expulsion elsewhere takes out, and a mute elsewhere reaches.
#include <exception>

#include "hub.hpp"

namespace duplex::chat {

bool hub::room_changed(const std::string& room_name, const std::string& user_key) {
  if (!rooms_.contains(room_name)) return true;  // nobody here is in it
  try {
    if (!user_key.empty()) follow_member(room_name, user_key);
    announce_room(room_name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool hub::rooms_changed() {
  try {
    std::vector<std::pair<std::string, std::string>> here;  // (room, user): leaving changes both
    for (const auto& [key, u] : users_)
      for (const auto& [name, n] : u.rooms)
        here.emplace_back(name, key);
    for (const auto& [name, key] : here)
      follow_member(name, key);
    std::vector<std::string> names;
    for (const auto& [name, rm] : rooms_)
      names.push_back(name);
    for (const auto& name : names)
      announce_room(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
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

}  // namespace duplex::chat
