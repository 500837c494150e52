// Resumable HTTP/1.1 response-head parser (for the client's handshake), with hard limits.
#pragma once

#include "duplex/http/head_parser.hpp"

namespace duplex::http {

struct response {
  int version_minor = 1;
  int status = 0;
  std::string_view reason;
  std::vector<header> headers;

  std::optional<std::string_view> find(std::string_view name) const noexcept;
  std::size_t count(std::string_view name) const noexcept;
};

class response_parser final : public head_parser {
 public:
  explicit response_parser(parser_limits limits = {}) : head_parser(limits) {}
  const http::response& response() const noexcept { return response_; }

 private:
  status parse_start_line(std::string_view line, std::size_t offset) override;
  status publish(std::string_view buf) override;
  void clear_start() noexcept override;

  int status_ = 0;
  int version_minor_ = 1;
  span32 reason_{};
  http::response response_;
};

}  // namespace duplex::http
