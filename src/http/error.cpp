#include "duplex/http/error.hpp"

#include "duplex/core/error.hpp"

namespace duplex::http {
namespace {

struct entry {
  errc code;
  int status;
  const char* text;
};

// One table: each parse error, its status, and its message.
constexpr entry table[] = {
    {errc::bad_request_line, 400, "malformed request line"},
    {errc::bad_method, 400, "malformed method"},
    {errc::bad_target, 400, "malformed request target"},
    {errc::bad_version, 400, "malformed HTTP version"},
    {errc::version_not_supported, 505, "HTTP version not supported"},
    {errc::bad_line_ending, 400, "line not terminated by CRLF"},
    {errc::bad_header_name, 400, "malformed header name"},
    {errc::bad_header_value, 400, "forbidden character in header value"},
    {errc::obsolete_line_folding, 400, "obsolete header line folding"},
    {errc::target_too_long, 414, "request target too long"},
    {errc::head_too_large, 431, "request head too large"},
    {errc::too_many_headers, 431, "too many header fields"},
    {errc::bad_content_length, 400, "malformed or conflicting Content-Length"},
    {errc::length_with_transfer_encoding, 400, "both Content-Length and Transfer-Encoding"},
    {errc::bad_transfer_encoding, 400, "Transfer-Encoding not ending in chunked, or in HTTP/1.0"},
    {errc::method_not_implemented, 501, "CONNECT is not supported"},
    {errc::unsupported_transfer_coding, 501, "transfer coding other than chunked"},
    {errc::body_too_large, 413, "request body larger than the limit"},
    {errc::bad_chunk_size, 400, "malformed chunk size"},
    {errc::chunk_size_overflow, 400, "chunk size longer than 16 hex digits"},
    {errc::bad_chunk_extension, 400, "malformed chunk extension"},
    {errc::chunk_extension_too_long, 413, "chunk extensions longer than the limit"},
    {errc::bad_chunk_end, 400, "chunk data not followed by CRLF"},
    {errc::trailer_too_large, 431, "trailer section larger than the limit"},
    {errc::body_truncated, 400, "connection ended inside the request body"},
    {errc::expectation_failed, 417, "Expect other than 100-continue"},
};

const entry* find(errc e) {
  return core::find_entry(table, e);
}

const char* describe(errc e) {
  const entry* x = find(e);
  return x ? x->text : "unknown HTTP error";
}

const core::enum_category<errc, describe> category{"duplex.http"};

}  // namespace

const std::error_category& http_category() noexcept {
  return category;
}
std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category};
}

int status_for(errc e) noexcept {
  const entry* x = find(e);
  return x ? x->status : 400;
}

std::string_view reason_for(errc e) noexcept {
  return describe(e);
}

}  // namespace duplex::http
