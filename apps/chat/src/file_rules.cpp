#include "file_rules.hpp"

#include "conversations.hpp"
#include "names.hpp"
#include "static_files.hpp"

namespace duplex::chat {
namespace {

upload_target refused(int status, std::string code, std::string why) {
  return {status, std::move(code), std::move(why), {}};
}

// The value of `key` in an application/x-www-form-urlencoded query, decoded; nothing if absent
// or malformed.
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != key) continue;
    std::string spaced(pair.substr(eq + 1));
    for (char& c : spaced)
      if (c == '+') c = ' ';
    std::string out;
    if (!percent_decode(spaced, out)) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

upload_target room_target(room_directory& rooms, std::string_view user, const std::string& name,
                          std::int64_t now_ms) {
  const std::string room = names::room_key(name);
  if (!names::valid_room(room)) return refused(404, "no_such_room", "no room of that name");
  if (rooms.banned(room, user)) return refused(403, "banned", "you are banned from this room");
  const auto member = rooms.member(room, user);
  if (!member) return refused(404, "not_joined", "join the room first");
  if (member->muted_until_ms > now_ms)
    return refused(403, "muted", "a moderator muted you in this room for now");
  return {0, {}, {}, room};
}

}  // namespace

upload_target upload_target_of(room_directory& rooms, const user_key_of& key_of,
                               std::string_view user, std::string_view query, std::int64_t now_ms) {
  if (const auto room = query_value(query, "room")) return room_target(rooms, user, *room, now_ms);
  if (const auto with = query_value(query, "with")) {
    const auto peer = key_of ? key_of(*with) : std::nullopt;
    if (!peer || peer->empty())
      return refused(404, "no_such_user", "no registered user has that name");
    return {0, {}, {}, conversations::feed_of(user, *peer)};
  }
  return refused(400, "no_target", "say where the file goes: ?room=NAME or ?with=NAME");
}

bool may_read(room_directory& rooms, std::string_view user, std::string_view feed) {
  if (conversations::is_conversation(feed)) {
    const auto keys = conversations::members(feed);
    return keys && (keys->first == user || keys->second == user);
  }
  return rooms.member(feed, user).has_value() && !rooms.banned(feed, user);
}

}  // namespace duplex::chat
