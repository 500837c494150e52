// The room directory and moderation on the wire (docs/chat-protocol.md, "Rooms"): the room's
// description, the directory listing, and the events moderation sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "room_directory.hpp"
#include "wire.hpp"

namespace duplex::chat::wire {

// What a member sees of a room: topic, owner, moderators, member count; `role` is the reader's
// (empty: not a stored member).
struct room_view {
  room_record room;
  std::size_t members = 0;
  std::vector<std::string> moderators;  // shown names
  std::string owner_name;
  std::string role;
};

std::string joined(std::string_view room, const std::vector<std::string>& members,
                   std::int64_t last_id, const room_view& view,
                   std::optional<read_state> read = std::nullopt,
                   const std::vector<std::string>* online = nullptr);
// Sent to a room when its topic, owner, moderators or member count change.
std::string room_info(const room_view& view);
std::string directory(const std::vector<directory_entry>& rooms);
std::string created(std::string_view room);
std::string left(std::string_view room, std::string_view reason, std::string_view by);
std::string presence_left(std::string_view room, std::string_view nick, std::string_view reason,
                          std::string_view by);
std::string deleted(std::string_view room, std::int64_t id, std::string_view by);
std::string muted(std::string_view room, std::int64_t until_ms, std::string_view by);
std::string invited(std::string_view room, std::string_view by, std::string_view topic);
// The answer to a moderation request that changed nothing anybody else sees (unban, invite).
std::string done(std::string_view request, std::string_view room, std::string_view user);

}  // namespace duplex::chat::wire
