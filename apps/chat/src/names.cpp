#include "names.hpp"

#include <algorithm>

namespace duplex::chat::names {
namespace {

constexpr std::size_t max_chars = 32;
constexpr std::string_view nick_rule = "1 to 32 printable characters";

// Decodes one code point of valid UTF-8 (the WebSocket layer has validated the text).
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len && i + static_cast<std::size_t>(k) < s.size(); ++k)
    c = (c << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
  i += static_cast<std::size_t>(len);
  return c;
}

bool printable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return false;  // C0, DEL, C1 controls
  if (c >= 0x200B && c <= 0x200F) return false;            // zero-width, LRM/RLM
  if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) return false;  // bidi
  return c != 0x2028 && c != 0x2029 && c != 0x2060 && c != 0xFEFF && c != 0xFFFD;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  return out;
}

}  // namespace

result validate(std::string_view nick) {
  const auto refused = [] { return result{false, {}, std::string(nick_rule)}; };
  if (nick.empty() || nick.front() == ' ' || nick.back() == ' ') return refused();
  std::size_t count = 0;
  for (std::size_t i = 0; i < nick.size();) {
    if (!printable(next_code_point(nick, i))) return refused();
    ++count;
  }
  if (count > max_chars) return refused();
  return {true, std::string(nick), {}};
}

std::string key(std::string_view nick) {
  return ascii_lower(nick);
}

bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > max_chars) return false;
  return std::all_of(room.begin(), room.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
  });
}

std::string room_key(std::string_view room) {
  return ascii_lower(room);
}

}  // namespace duplex::chat::names
