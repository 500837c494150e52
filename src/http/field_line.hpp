// The field-line rules (RFC 9112 section 5) shared by the head parser and the trailer section
// of a chunked body, so that a trailer cannot pass a check a header would fail.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "duplex/http/error.hpp"

namespace duplex::http::detail {

// Where the name and the trimmed value of a field line lie, as offsets into the line.
struct field_line {
  std::size_t name_end = 0;
  std::size_t value_begin = 0, value_end = 0;
};

// Splits one field line (without its CRLF, not empty). Fails with obsolete_line_folding for a
// line that starts with whitespace, bad_header_name for a missing colon or a name that is not a
// token, and bad_header_value for a control character in the value.
errc split_field_line(std::string_view line, field_line& out) noexcept;

}  // namespace duplex::http::detail
