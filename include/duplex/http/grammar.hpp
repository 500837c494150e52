// The character classes of HTTP's grammar (RFC 9110 section 5.6), one definition for every layer.
#pragma once

#include <string_view>

namespace duplex::http {

/// RFC 9110 section 5.6.2: tchar. By value, not through <cctype>: a locale must not widen it.
constexpr bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  for (char s : std::string_view("!#$%&'*+-.^_`|~"))
    if (c == static_cast<unsigned char>(s)) return true;
  return false;
}

constexpr bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

/// RFC 9110 section 5.5: field-value is VCHAR, obs-text, SP and HTAB; CTLs (NUL, CR, LF, DEL)
/// are refused so that no header can smuggle a line break.
constexpr bool is_field_char(unsigned char c) noexcept {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

constexpr bool is_field_value(std::string_view s) noexcept {
  for (char c : s)
    if (!is_field_char(static_cast<unsigned char>(c))) return false;
  return true;
}

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

}  // namespace duplex::http
