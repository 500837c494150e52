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

struct parser_limits {
  std::size_t max_head_bytes = 8 * 1024;  // start line + headers + blank line
  std::size_t max_target_bytes = 4 * 1024;
  std::size_t max_headers = 64;
};

class head_parser {
 public:
  enum class status { incomplete, complete, error };

  // `buf` holds every byte received so far, starting at the start line: each call passes the
  // same bytes as before plus any new ones (the buffer may have moved). On `complete`,
  // head_size() tells where the head ends; later bytes are not looked at.
  status parse(std::string_view buf);

  std::error_code error() const noexcept { return error_; }
  std::size_t head_size() const noexcept { return head_size_; }
  void reset() noexcept;

  // Bytes looked at since construction (reset() does not clear it): the line-end search and the
  // check of each complete line. Both resume where they stopped, so however the bytes arrive,
  // this stays within twice the bytes of the heads parsed; tests hold the parser to that.
  std::size_t bytes_scanned() const noexcept { return bytes_scanned_; }

 protected:
  struct span32 {
    std::uint32_t begin, end;
  };
  struct header_at {
    span32 name, value;
  };

  explicit head_parser(parser_limits limits) : limits_(limits) {}
  ~head_parser() = default;
  status fail(errc e);
  span32 at(std::string_view part, std::string_view line, std::size_t offset) const;
  static std::string_view view(std::string_view buf, span32 s) {
    return buf.substr(s.begin, s.end - s.begin);
  }
  std::vector<header> headers_in(std::string_view buf) const;
  // The start line without its CRLF, at `offset` in the buffer.
  virtual status parse_start_line(std::string_view line, std::size_t offset) = 0;
  // Called once the blank line ending the head is seen; returns complete, or fail()'s error for
  // a head that is well formed line by line but not as a whole.
  virtual status publish(std::string_view buf) = 0;
  virtual void clear_start() noexcept = 0;

  parser_limits limits_;

 private:
  status parse_line(std::string_view buf, std::size_t begin, std::size_t end);
  status parse_header_line(std::string_view line, std::size_t offset);

  std::size_t scanned_ = 0;     // bytes already searched for a line end
  std::size_t line_start_ = 0;  // first byte of the line in progress
  bool have_start_line_ = false;
  std::vector<header_at> headers_;
  std::size_t head_size_ = 0;
  std::error_code error_;
  std::size_t bytes_scanned_ = 0;
};

// RFC 9112 section 2.3: "HTTP/" DIGIT "." DIGIT; returns the minor version, or -1 if the text is
// not a version, or -2 if it is a version other than 1.x.
int parse_http_version(std::string_view v) noexcept;

}  // namespace duplex::http
