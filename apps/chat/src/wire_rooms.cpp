#include "wire_rooms.hpp"

#include "wire.hpp"

namespace duplex::chat::wire {
namespace {

using json = nlohmann::json;

// A name as the hub carries it (a guest's marked): the name, and `guest: true` for a guest.
void put(json& j, const char* field, std::string_view carried) {
  const auto who = shown(carried);
  j[field] = who.nick;
  if (who.guest) j[std::string(field) + "_guest"] = true;
}

json view_json(const room_view& v) {
  json out{{"room", v.room.name},   {"topic", v.room.topic},
           {"owner", v.owner_name}, {"invite_only", v.room.invite_only},
           {"count", v.members},    {"moderators", v.moderators}};
  if (!v.role.empty()) out["role"] = v.role;
  return out;
}

}  // namespace

std::string joined(std::string_view room, const std::vector<std::string>& members,
                   std::int64_t last_id, const room_view& view, std::optional<read_state> read,
                   const std::vector<std::string>* online) {
  // The members as every joined event shows them (guests marked), then the room's description.
  json out = json::parse(joined(room, members, last_id, read, online));
  out.update(view_json(view));
  out["room"] = room;
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
  if (!by.empty()) put(out, "by", by);
  return to_wire(out);
}

std::string presence_left(std::string_view room, std::string_view nick, std::string_view reason,
                          std::string_view by) {
  json out{{"type", "presence"}, {"room", room}, {"event", "leave"}};
  const auto who = shown(nick);
  out["nick"] = who.nick;
  if (who.guest) out["guest"] = true;
  if (!reason.empty()) out["reason"] = reason;
  if (!by.empty()) put(out, "by", by);
  return to_wire(out);
}

std::string deleted(std::string_view room, std::int64_t id, std::string_view by) {
  json out{{"type", "deleted"}, {"room", room}, {"id", id}};
  put(out, "by", by);
  return to_wire(out);
}

std::string muted(std::string_view room, std::int64_t until_ms, std::string_view by) {
  json out{{"type", "muted"}, {"room", room}, {"until", until_ms}};
  put(out, "by", by);
  return to_wire(out);
}

std::string invited(std::string_view room, std::string_view by, std::string_view topic) {
  json out{{"type", "invited"}, {"room", room}, {"topic", topic}};
  put(out, "by", by);
  return to_wire(out);
}

std::string done(std::string_view request, std::string_view room, std::string_view user) {
  json out{{"type", "done"}, {"request", request}, {"room", room}};
  put(out, "user", user);
  return to_wire(out);
}

}  // namespace duplex::chat::wire
