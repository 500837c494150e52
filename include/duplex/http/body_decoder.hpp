// Sans-I/O reader of a request body (RFC 9112 sections 6 and 7): Content-Length or chunked, fed
// the bytes after the head in any split, giving the body as views into them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "duplex/http/error.hpp"
#include "duplex/http/request.hpp"

namespace duplex::http {

/// Limits on the framing of a chunked body; the body's own size is per request (start()).
struct body_limits {
  /// Per chunk line: the bytes after the chunk size, up to its CRLF (RFC 9112 section 7.1.1).
  std::size_t max_chunk_ext_bytes = 1024;
  /// The trailer fields with their CRLFs; the blank line ending the section is not counted, so
  /// 0 accepts a body without trailers only (section 7.1.2).
  std::size_t max_trailer_bytes = 8 * 1024;
};

/// Reads a request body framed by Content-Length or chunked coding (RFC 9112 sections 6 and
/// 7), sans I/O: it is handed bytes and hands back views of body data, within a size limit.
class body_decoder {
 public:
  /// Where the body stands: more bytes needed, all read, or refused (see error()).
  enum class status { incomplete, complete, error };

  /// What one decode() call found.
  struct step {
    /// Where the body stands after this call.
    status state = status::incomplete;
    /// Bytes at the front of the input this call used: the caller drops them before the next
    /// call. On `complete`, the bytes after them belong to the next pipelined request.
    std::size_t consumed = 0;
    /// Body bytes, a view into the input (never a copy); may be empty.
    std::string_view data;
  };

  /// Until start(), the decoder is `complete`: no body, and decode() consumes nothing.
  explicit body_decoder(body_limits limits = {}) : limits_(limits) {}

  /// Reads the framing of `req` (request_body()) and prepares to read its body, at most
  /// `max_body_bytes` of content. Refuses at once, before any byte of the body, a framing
  /// request_body() refuses and a Content-Length above the limit (body_too_large). A request
  /// without a body, or with Content-Length: 0, is `complete` at once. Forgets any earlier body.
  status start(const request& req, std::uint64_t max_body_bytes);
  /// As start(req, ...), from a framing already read with request_body().
  status start(const body_framing& framing, std::uint64_t max_body_bytes);

  /// Decodes from the front of `in`, the bytes that follow what earlier calls consumed (the
  /// buffer may have moved). Returns after the first piece of body data it finds, so that a
  /// caller can stop between pieces; call again with the rest. A call with input left never
  /// returns `incomplete` with nothing consumed. Chunked framing is checked byte by byte as it
  /// arrives; a chunk size is refused as soon as it passes what is left of the limit.
  step decode(std::string_view in);

  /// The input ended (the peer closed). `complete` stays so; anything else is body_truncated.
  status finish();

  /// Where the body stands.
  status state() const noexcept;
  /// After `error`: why (an http::errc).
  std::error_code error() const noexcept { return error_; }
  /// The framing of the body being read.
  body_kind kind() const noexcept { return kind_; }
  /// Body bytes delivered so far; never more than the limit given to start().
  std::uint64_t received() const noexcept { return received_; }
  /// After `complete` of a chunked body: its trailer fields, checked like header fields and not
  /// merged into them (RFC 9110 section 6.5.1). Views into the decoder, valid until start() or
  /// until the decoder is moved or destroyed.
  std::vector<header> trailers() const;

 private:
  enum class phase : std::uint8_t {
    length_data,
    chunk_size,
    chunk_ext,
    chunk_line_lf,
    chunk_data,
    data_cr,
    data_lf,
    trailer,
    done,
    failed,
  };
  /// Where a chunk extension (section 7.1.1) stands: after an element, a ';', a name, the
  /// whitespace after a name, a '=', a token value, inside a quoted value, after its backslash.
  enum class ext : std::uint8_t {
    after_element,
    before_name,
    name,
    after_name,
    before_value,
    token_value,
    quoted,
    quoted_pair,
  };
  struct field_at {
    std::size_t name_begin, name_end, value_begin, value_end;
  };

  step fail(errc e, std::size_t consumed);
  errc framing_byte(char c);
  errc chunk_size_byte(char c);
  errc chunk_ext_byte(char c);
  errc end_of_chunk_line();
  std::size_t trailer_bytes(std::string_view in, errc& e);
  errc end_of_trailer_line();

  body_limits limits_;
  body_kind kind_ = body_kind::none;
  phase phase_ = phase::done;  ///< before start(): no body to read
  ext ext_ = ext::after_element;
  bool ext_space_ = false;  ///< whitespace seen that must be followed by ';' or '='
  std::uint64_t max_body_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t left_ = 0;        ///< of the Content-Length, or of the chunk in progress
  std::uint64_t chunk_size_ = 0;  ///< the size being read
  unsigned size_digits_ = 0;
  std::size_t ext_bytes_ = 0;
  std::string trailer_buf_;  ///< trailer fields so far and the line in progress
  std::size_t line_start_ = 0;
  std::vector<field_at> trailer_at_;
  std::error_code error_;
};

}  // namespace duplex::http
