// Resumable HTTP/1.1 request-head parser with hard limits; never re-scans bytes it has seen.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "duplex/http/error.hpp"
#include "duplex/http/request.hpp"

namespace duplex::http {

struct parser_limits {
  std::size_t max_head_bytes = 8 * 1024;  // request line + headers + blank line
  std::size_t max_target_bytes = 4 * 1024;
  std::size_t max_headers = 64;
};

class request_parser {
 public:
  enum class status { incomplete, complete, error };

  explicit request_parser(parser_limits limits = {}) : limits_(limits) {}

  // `buf` holds every byte received so far, starting at the request line: each call passes the
  // same bytes as before plus any new ones (the buffer may have moved). On `complete`, request()
  // holds views into this `buf`, and head_size() tells where the head ends.
  status parse(std::string_view buf);

  const http::request& request() const noexcept { return request_; }
  std::error_code error() const noexcept { return error_; }
  std::size_t head_size() const noexcept { return head_size_; }
  void reset() noexcept;

 private:
  struct span32 {
    std::uint32_t begin, end;
  };
  struct header_at {
    span32 name, value;
  };

  status fail(errc e);
  status parse_line(std::string_view buf, std::size_t begin, std::size_t end);
  status parse_request_line(std::string_view line, std::size_t offset);
  status parse_header_line(std::string_view line, std::size_t offset);
  void publish(std::string_view buf);

  parser_limits limits_;
  std::size_t scanned_ = 0;     // bytes already searched for a line end
  std::size_t line_start_ = 0;  // first byte of the line in progress
  bool have_request_line_ = false;
  span32 method_{}, target_{};
  int version_minor_ = 1;
  std::vector<header_at> headers_;
  std::size_t head_size_ = 0;
  std::error_code error_;
  http::request request_;
};

}  // namespace duplex::http
