// The shared part of HTTP/1.1 head parsing: resumable line scanning, header fields and hard
// limits. request_parser and response_parser add their start lines.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "duplex/http/error.hpp"
#include "duplex/http/request.hpp"

namespace duplex::http {

/// Hard limits of a head; past any of them the parser fails with a status to answer.
struct parser_limits {
  std::size_t max_head_bytes = 8 * 1024;  ///< start line + headers + blank line
  /// The request target (414 past it).
  std::size_t max_target_bytes = 4 * 1024;
  /// Header fields (431 past it).
  std::size_t max_headers = 64;
};

/// What the request and response parsers share: resumable line splitting and header fields
/// within parser_limits; the start line is the derived class's business.
class head_parser {
 public:
  /// More bytes needed, a whole head parsed, or refused (see error()).
  enum class status { incomplete, complete, error };

  /// `buf` holds every byte received so far, starting at the start line: each call passes the
  /// same bytes as before plus any new ones (the buffer may have moved). On `complete`,
  /// head_size() tells where the head ends; later bytes are not looked at.
  status parse(std::string_view buf);

  /// After `error`: why (an http::errc, with status_for() giving the answer).
  std::error_code error() const noexcept { return error_; }
  /// After `complete`: the head's length, blank line included.
  std::size_t head_size() const noexcept { return head_size_; }
  /// Prepares for the next head (bytes_scanned() stays).
  void reset() noexcept;

  /// Bytes looked at since construction (reset() does not clear it): the line-end search and the
  /// check of each complete line. Both resume where they stopped, so however the bytes arrive,
  /// this stays within twice the bytes of the heads parsed; tests hold the parser to that.
  std::size_t bytes_scanned() const noexcept { return bytes_scanned_; }

 protected:
  /// Offsets of a part of the buffer, so that views survive the buffer moving.
  struct span32 {
    std::uint32_t begin;  ///< first byte
    std::uint32_t end;    ///< one past the last byte
  };
  /// A header field as offsets.
  struct header_at {
    span32 name;   ///< the field's name
    span32 value;  ///< its value, trimmed
  };

  /// For the derived parsers.
  explicit head_parser(parser_limits limits) : limits_(limits) {}
  ~head_parser() = default;
  /// Records `e` and returns `error`.
  status fail(errc e);
  /// The offsets of `part`, a view into `line`, which starts at `offset` in the buffer.
  span32 at(std::string_view part, std::string_view line, std::size_t offset) const;
  /// The part of `buf` that `s` covers.
  static std::string_view view(std::string_view buf, span32 s) {
    return buf.substr(s.begin, s.end - s.begin);
  }
  /// The header fields parsed so far, as views into `buf`.
  std::vector<header> headers_in(std::string_view buf) const;
  /// The start line without its CRLF, at `offset` in the buffer.
  virtual status parse_start_line(std::string_view line, std::size_t offset) = 0;
  /// Called once the blank line ending the head is seen; returns complete, or fail()'s error for
  /// a head that is well formed line by line but not as a whole.
  virtual status publish(std::string_view buf) = 0;
  /// Forgets the start line, for reset().
  virtual void clear_start() noexcept = 0;

  /// The limits given at construction.
  parser_limits limits_;

 private:
  status parse_line(std::string_view buf, std::size_t begin, std::size_t end);
  status parse_header_line(std::string_view line, std::size_t offset);

  std::size_t scanned_ = 0;     ///< bytes already searched for a line end
  std::size_t line_start_ = 0;  ///< first byte of the line in progress
  bool have_start_line_ = false;
  std::vector<header_at> headers_;
  std::size_t head_size_ = 0;
  std::error_code error_;
  std::size_t bytes_scanned_ = 0;
};

/// RFC 9112 section 2.3: "HTTP/" DIGIT "." DIGIT; returns the minor version, or -1 if the text is
/// not a version, or -2 if it is a version other than 1.x.
int parse_http_version(std::string_view v) noexcept;

}  // namespace duplex::http
