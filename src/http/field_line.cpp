#include "field_line.hpp"

#include "duplex/http/grammar.hpp"

namespace duplex::http::detail {

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
