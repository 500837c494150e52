#include "wire_rooms.hpp"

#include "wire.hpp"

namespace duplex::chat::wire {
namespace {

using json = nlohmann::json;

json view_json(const room_view& v) {
  json out{{"room", v.room.name},   {"topic", v.room.topic},
           {"owner", v.owner_name}, {"invite_only", v.room.invite_only},
           {"count", v.members},    {"moderators", v.moderators}};
  if (!v.role.empty()) out["role"] = v.role;
  return out;
}

}  // namespace

std::string joined(std::string_view room, const std::vector<std::string>& members,
                   std::int64_t last_id, const room_view& view) {
  json out = view_json(view);
  out["type"] = "joined";
  out["room"] = room;
  out["members"] = members;
  out["last_id"] = last_id;
  return to_wire(out);
}

std::string room_info(const room_view& view) {
  json out = view_json(view);
  out["type"] = "room";
  out.erase("role");  // one frame for every member: each knows its own role from `joined`
  return to_wire(out);
}

std::string directory(const std::vector<directory_entry>& rooms) {
  json list = json::array();
  for (const auto& e : rooms)
    list.push_back({{"name", e.room.name},
                    {"members", e.members},
                    {"topic", e.room.topic},
                    {"invite_only", e.room.invite_only}});
  return to_wire({{"type", "rooms"}, {"rooms", std::move(list)}});
}

std::string created(std::string_view room) {
  return to_wire({{"type", "created"}, {"room", room}});
}

std::string left(std::string_view room, std::string_view reason, std::string_view by) {
  json out{{"type", "left"}, {"room", room}};
  if (!reason.empty()) out["reason"] = reason;
  if (!by.empty()) out["by"] = by;
  return to_wire(out);
}

std::string presence_left(std::string_view room, std::string_view nick, std::string_view reason,
                          std::string_view by) {
  json out{{"type", "presence"}, {"room", room}, {"nick", nick}, {"event", "leave"}};
  if (!reason.empty()) out["reason"] = reason;
  if (!by.empty()) out["by"] = by;
  return to_wire(out);
}

std::string deleted(std::string_view room, std::int64_t id, std::string_view by) {
  return to_wire({{"type", "deleted"}, {"room", room}, {"id", id}, {"by", by}});
}

std::string muted(std::string_view room, std::int64_t until_ms, std::string_view by) {
  return to_wire({{"type", "muted"}, {"room", room}, {"until", until_ms}, {"by", by}});
}

std::string invited(std::string_view room, std::string_view by, std::string_view topic) {
  return to_wire({{"type", "invited"}, {"room", room}, {"by", by}, {"topic", topic}});
}

std::string done(std::string_view request, std::string_view room, std::string_view user) {
  return to_wire({{"type", "done"}, {"request", request}, {"room", room}, {"user", user}});
}

}  // namespace duplex::chat::wire
