#include "cookies.hpp"

namespace duplex::chat {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string attributes(const cookie_options& o, long long max_age) {
  std::string out = "; Path=/; Max-Age=" + std::to_string(max_age) + "; HttpOnly; SameSite=Lax";
  if (o.secure) out += "; Secure";
  return out;
}

}  // namespace

std::string cookie_name(const cookie_options& o) {
  return o.secure ? "__Host-" + o.name : o.name;
}

std::string session_cookie(const cookie_options& o, std::string_view token) {
  return cookie_name(o) + "=" + std::string(token) + attributes(o, o.max_age.count());
}

std::string clearing_cookie(const cookie_options& o) {
  return cookie_name(o) + "=" + attributes(o, 0);
}

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return value;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

}  // namespace duplex::chat
