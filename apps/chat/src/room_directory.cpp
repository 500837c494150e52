#include "room_directory.hpp"

#include <algorithm>
#include <tuple>

namespace duplex::chat {
namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

std::pair<std::string, std::string> key_of(std::string_view room, std::string_view user) {
  return {std::string(room), std::string(user)};
}

}  // namespace

std::string_view room_role_name(room_role r) noexcept {
  switch (r) {
    case room_role::owner:
      return "owner";
    case room_role::moderator:
      return "moderator";
    case room_role::member:
      break;
  }
  return "member";
}

std::optional<room_role> parse_room_role(std::string_view s) noexcept {
  if (s == "member") return room_role::member;
  if (s == "moderator") return room_role::moderator;
  if (s == "owner") return room_role::owner;
  return std::nullopt;
}

bool contains_folded(std::string_view text, std::string_view query) noexcept {
  if (query.empty()) return true;
  auto it = std::search(text.begin(), text.end(), query.begin(), query.end(),
                        [](char a, char b) { return lower(a) == lower(b); });
  return it != text.end();
}

std::optional<room_record> memory_directory::find(std::string_view room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return std::nullopt;
  return it->second;
}

bool memory_directory::create(const room_record& r) {
  return rooms_.emplace(r.name, r).second;
}

void memory_directory::update(const room_record& r) {
  if (auto it = rooms_.find(r.name); it != rooms_.end()) it->second = r;
}

void memory_directory::remove_room(std::string_view room) {
  rooms_.erase(std::string(room));
  auto in_room = [&](const key& k) { return k.first == room; };
  std::erase_if(members_, [&](const auto& kv) { return in_room(kv.first); });
  std::erase_if(bans_, in_room);
  std::erase_if(invites_, in_room);
}

std::vector<directory_entry> memory_directory::search(std::string_view query, std::size_t limit) {
  std::vector<directory_entry> out;
  for (const auto& [name, r] : rooms_) {
    if (out.size() >= limit) break;
    if (contains_folded(name, query) || contains_folded(r.topic, query))
      out.push_back({r, member_count(name)});
  }
  return out;
}

std::optional<member_record> memory_directory::member(std::string_view room,
                                                      std::string_view user) {
  auto it = members_.find(key_of(room, user));
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

void memory_directory::put_member(std::string_view room, const member_record& m) {
  members_[key_of(room, m.user)] = m;
}

void memory_directory::remove_member(std::string_view room, std::string_view user) {
  members_.erase(key_of(room, user));
}

std::vector<member_record> memory_directory::members(std::string_view room, std::size_t limit) {
  std::vector<member_record> out;
  for (auto it = members_.lower_bound(key_of(room, "")); it != members_.end(); ++it) {
    if (it->first.first != room) break;
    out.push_back(it->second);
  }
  std::stable_sort(out.begin(), out.end(), [](const member_record& a, const member_record& b) {
    return std::tie(b.role, a.name) < std::tie(a.role, b.name);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::size_t memory_directory::member_count(std::string_view room) {
  std::size_t n = 0;
  for (auto it = members_.lower_bound(key_of(room, "")); it != members_.end(); ++it) {
    if (it->first.first != room) break;
    ++n;
  }
  return n;
}

std::vector<std::string> memory_directory::rooms_of(std::string_view user) {
  std::vector<std::string> out;
  for (const auto& [k, m] : members_)
    if (k.second == user) out.push_back(k.first);
  return out;
}

std::size_t memory_directory::owned_by(std::string_view user) {
  return static_cast<std::size_t>(std::count_if(
      rooms_.begin(), rooms_.end(), [&](const auto& r) { return r.second.owner == user; }));
}

bool memory_directory::banned(std::string_view room, std::string_view user) {
  return bans_.contains(key_of(room, user));
}

void memory_directory::set_banned(std::string_view room, std::string_view user, bool banned) {
  if (banned)
    bans_.insert(key_of(room, user));
  else
    bans_.erase(key_of(room, user));
}

bool memory_directory::invited(std::string_view room, std::string_view user) {
  return invites_.contains(key_of(room, user));
}

void memory_directory::set_invited(std::string_view room, std::string_view user, bool invited) {
  if (invited)
    invites_.insert(key_of(room, user));
  else
    invites_.erase(key_of(room, user));
}

}  // namespace duplex::chat
