#include "field_line.hpp"

#include <cstring>

namespace duplex::http::detail {
namespace {

// RFC 9110 section 5.5: field-value is VCHAR, obs-text, SP and HTAB; CTLs (NUL, CR, LF, DEL)
// are refused so that no field can smuggle a line break.
bool is_field_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

errc split_field_line(std::string_view line, field_line& out) noexcept {
  // RFC 9112 section 5.2: obs-fold is rejected with 400.
  if (is_ows(line.front())) return errc::obsolete_line_folding;
  const auto colon = line.find(':');
  // RFC 9112 section 5.1: no whitespace between the field name and the colon.
  if (colon == std::string_view::npos || colon == 0) return errc::bad_header_name;
  for (std::size_t i = 0; i < colon; ++i)
    if (!is_tchar(static_cast<unsigned char>(line[i]))) return errc::bad_header_name;
  std::size_t vb = colon + 1;
  std::size_t ve = line.size();
  while (vb < ve && is_ows(line[vb]))
    ++vb;
  while (ve > vb && is_ows(line[ve - 1]))
    --ve;
  for (std::size_t i = vb; i < ve; ++i)
    if (!is_field_char(static_cast<unsigned char>(line[i]))) return errc::bad_header_value;
  out = {colon, vb, ve};
  return errc{};
}

}  // namespace duplex::http::detail
