#include "wire.hpp"

#include <algorithm>

#include "markdown.hpp"
#include "message_fold.hpp"

namespace duplex::chat {

using json = nlohmann::json;

std::string to_wire(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text_field(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_field(const json& j, const char* key, std::int64_t fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) {
    const double d = it->get<double>();
    // Out of range would be undefined behaviour in the conversion.
    return d > -9e18 && d < 9e18 ? static_cast<std::int64_t>(d) : fallback;
  }
  return fallback;
}

std::size_t code_points(std::string_view utf8) noexcept {
  std::size_t n = 0;
  for (const char ch : utf8)
    n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;  // every byte but continuations
  return n;
}

std::string_view text_refusal(std::string_view text) noexcept {
  bool blank = true;
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if (b == ' ' || b == '\t' || b == '\n' || b == '\r') continue;
    if (b < 0x20 || b == 0x7F) return "invalid_text";
    blank = false;
  }
  return blank ? "empty_text" : "";
}

namespace wire {
namespace {

constexpr char guest_mark = '~';

// `field` and, for a guest, `flag`: true.
void put_name(json& j, const char* field, std::string_view carried, const char* flag = "guest") {
  const auto who = shown(carried);
  j[field] = who.nick;
  if (who.guest) j[flag] = true;
}

}  // namespace

void put_file(nlohmann::json& out, const stored_message& m) {
  if (m.file.empty()) return;
  json file = json::parse(m.file, nullptr, false);
  if (file.is_object()) out["file"] = std::move(file);
}

namespace {

// A message inside a history: the event without its type.
json history_entry(const stored_message& m) {
  json out{{"room", m.room}, {"id", m.id}, {"text", m.text}, {"ts", m.ts_ms}};
  put_name(out, "nick", m.nick);
  if (!m.cid.empty()) out["cid"] = m.cid;
  put_formatting(out, m.text);
  put_file(out, m);
  put_fold(out, m);
  return out;
}

json history_json(std::string_view room, const std::vector<stored_message>& messages) {
  json arr = json::array();
  for (const auto& m : messages)
    if (fold::shown(m)) arr.push_back(history_entry(m));  // not: erased by a moderator
  return {{"type", "history"}, {"room", room}, {"messages", std::move(arr)}};
}

}  // namespace

void put_formatting(json& entry, std::string_view text) {
  if (auto md = markdown::render(text)) entry["md"] = std::move(*md);
}

std::string guest_name(std::string_view nick) {
  return guest_mark + std::string(nick);
}

shown_name shown(std::string_view carried) noexcept {
  if (!carried.empty() && carried.front() == guest_mark) return {carried.substr(1), true};
  return {carried, false};
}

bool valid_cid(std::string_view cid, std::size_t max_chars) noexcept {
  if (cid.empty() || cid.size() > max_chars) return false;
  return std::all_of(cid.begin(), cid.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

std::optional<request> request::parse(std::string_view text) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  return request(std::move(body));
}

std::int64_t request::natural(const char* key) const {
  auto it = body_.find(key);
  if (it == body_.end() || !it->is_number_integer()) return -1;
  // An unsigned value past the signed range reads as negative, and is refused with the rest.
  const auto v = it->get<std::int64_t>();
  return v < 0 ? -1 : v;
}

bool request::flag(const char* key) const {
  auto it = body_.find(key);
  return it != body_.end() && it->is_boolean() && it->get<bool>();
}

std::string welcome(std::string_view nick, std::string_view token, std::size_t max_text_bytes) {
  json out{{"type", "welcome"}, {"token", token}};
  put_name(out, "nick", nick);
  if (max_text_bytes != 0) out["max_text_bytes"] = max_text_bytes;
  return to_wire(out);
}

std::string joined(std::string_view room, const std::vector<std::string>& members,
                   std::int64_t last_id, std::optional<read_state> read,
                   const std::vector<std::string>* online) {
  std::vector<std::string> names, guests;
  for (const auto& m : members) {
    const auto who = shown(m);
    names.emplace_back(who.nick);
    if (who.guest) guests.emplace_back(who.nick);
  }
  std::sort(names.begin(), names.end());
  json out{{"type", "joined"}, {"room", room}, {"members", names}, {"last_id", last_id}};
  if (!guests.empty()) out["guests"] = guests;
  if (online) {
    std::vector<std::string> here;
    for (const auto& m : *online)
      here.emplace_back(shown(m).nick);
    std::sort(here.begin(), here.end());
    out["online"] = here;
  }
  if (read) {
    out["last_read"] = read->last_read;
    out["unread"] = read->unread;
  }
  return to_wire(out);
}

std::string join_history(std::string_view room, const std::vector<stored_message>& messages,
                         bool resume, bool start) {
  json out = history_json(room, messages);
  if (resume) out["resume"] = true;
  if (start) out["start"] = true;
  return to_wire(out);
}

std::string history_page(std::string_view room, const std::vector<stored_message>& messages,
                         std::int64_t before, bool start) {
  json out = history_json(room, messages);
  out["before"] = before;
  if (start) out["start"] = true;
  return to_wire(out);
}

std::string message(const stored_message& m) {
  json out = history_entry(m);
  out["type"] = "message";
  return to_wire(out);
}

std::string presence(std::string_view room, std::string_view nick, bool joined) {
  json out{{"type", "presence"}, {"room", room}, {"event", joined ? "join" : "leave"}};
  put_name(out, "nick", nick);
  return to_wire(out);
}

std::string status(std::string_view room, std::string_view nick, bool online) {
  json out{{"type", "status"}, {"room", room}, {"online", online}};
  put_name(out, "nick", nick);
  return to_wire(out);
}

std::string typing(std::string_view room, std::string_view nick) {
  json out{{"type", "typing"}, {"room", room}};
  put_name(out, "nick", nick);
  return to_wire(out);
}

std::string left(std::string_view room) {
  return to_wire({{"type", "left"}, {"room", room}});
}

std::string ack(std::string_view ref, std::string_view room, std::int64_t id,
                std::string_view cid) {
  json out{{"type", "ack"}, {"ref", ref}, {"room", room}, {"id", id}};
  if (!cid.empty()) out["cid"] = cid;
  return to_wire(out);
}

std::string room_list(const std::vector<std::pair<std::string, std::size_t>>& rooms) {
  json list = json::array();
  for (const auto& [name, members] : rooms)
    list.push_back({{"name", name}, {"members", members}});
  return to_wire({{"type", "rooms"}, {"rooms", std::move(list)}});
}

std::string error(std::string_view code, std::string_view message, std::string_view room,
                  std::string_view cid) {
  json out{{"type", "error"}, {"code", code}, {"message", message}};
  if (!room.empty()) out["room"] = room;
  if (!cid.empty()) out["cid"] = cid;
  return to_wire(out);
}

std::optional<stored_message> parse_feed_message(std::string_view payload) {
  const json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  stored_message m{text_field(j, "room"), int_field(j, "id"), text_field(j, "nick"),
                   text_field(j, "text"), int_field(j, "ts"), text_field(j, "cid")};
  if (auto f = j.find("file"); f != j.end() && f->is_object())
    m.file = f->dump(-1, ' ', false, json::error_handler_t::replace);
  m.kind = text_field(j, "kind");
  m.ref_id = int_field(j, "ref");
  if (m.room.empty() || m.id <= 0) return std::nullopt;
  return m;
}

std::string encode(const node_presence& p) {
  json j{{"room", p.room},
         {"nick", p.nick},
         {"event", p.typing   ? "typing"
                   : p.joined ? "join"
                              : "leave"},
         {"node", p.node}};
  if (!p.user.empty()) j["user"] = p.user;
  return to_wire(j);
}

std::optional<node_presence> parse_node_presence(std::string_view payload) {
  const json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const std::string event = text_field(j, "event");
  node_presence p{text_field(j, "room"), text_field(j, "nick"), event == "join",
                  text_field(j, "node"), event == "typing",     text_field(j, "user")};
  if (p.room.empty() || p.nick.empty()) return std::nullopt;
  return p;
}

}  // namespace wire
}  // namespace duplex::chat
