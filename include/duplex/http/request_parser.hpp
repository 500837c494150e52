// Resumable HTTP/1.1 request-head parser with hard limits; never re-scans bytes it has seen.
#pragma once

#include "duplex/http/head_parser.hpp"

namespace duplex::http {

class request_parser final : public head_parser {
 public:
  explicit request_parser(parser_limits limits = {}) : head_parser(limits) {}
  // Views into the buffer of the parse() call that completed.
  const http::request& request() const noexcept { return request_; }

 private:
  status parse_start_line(std::string_view line, std::size_t offset) override;
  status publish(std::string_view buf) override;
  void clear_start() noexcept override;

  span32 method_{}, target_{};
  int version_minor_ = 1;
  http::request request_;
};

}  // namespace duplex::http
