// Why an HTTP request head or body was refused, and the status each reason answers with.
#pragma once

#include <string_view>
#include <system_error>

namespace duplex::http {

enum class errc {
  bad_request_line = 1,
  bad_method,
  bad_target,
  bad_version,
  version_not_supported,
  bad_line_ending,
  bad_header_name,
  bad_header_value,
  obsolete_line_folding,
  target_too_long,
  head_too_large,
  too_many_headers,
  bad_content_length,
  length_with_transfer_encoding,
  bad_transfer_encoding,
  method_not_implemented,
  unsupported_transfer_coding,
  /// The body (body_decoder) and its Expect field (decide_expect).
  body_too_large,
  bad_chunk_size,
  chunk_size_overflow,
  bad_chunk_extension,
  chunk_extension_too_long,
  bad_chunk_end,
  trailer_too_large,
  body_truncated,
  expectation_failed,
};

const std::error_category& http_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// The HTTP status the server answers with for a given parse error, and its text.
int status_for(errc e) noexcept;
std::string_view reason_for(errc e) noexcept;

}  // namespace duplex::http

/// @cond  std::error_code plumbing, not API of its own
template <>
struct std::is_error_code_enum<duplex::http::errc> : std::true_type {};
/// @endcond
