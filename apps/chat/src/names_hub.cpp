// The hub's questions about nicknames and room names, answered with the profiles of names.cpp.
#include <algorithm>

#include "names.hpp"

namespace duplex::chat::names {

result validate(std::string_view nick) {
  checked c = nickname(nick);
  if (!c) return {false, {}, {}, {}, std::string(code(c.why)), std::string(message(c.why))};
  return {true, std::move(c.display), std::move(c.key), std::move(c.skeleton), {}, {}};
}

std::string key(std::string_view nick) {
  checked c = nickname(nick);
  return c ? std::move(c.key) : std::string();
}

std::string look_alike_key(std::string_view nick) {
  checked c = nickname(nick);
  return c ? std::move(c.skeleton) : std::string();
}

bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > 32) return false;
  return std::all_of(room.begin(), room.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
  });
}

std::string room_key(std::string_view room) {
  std::string out(room);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + ('a' - 'A'));
  return out;
}

}  // namespace duplex::chat::names
