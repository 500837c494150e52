// Resumable HTTP/1.1 response-head parser (for the client's handshake), with hard limits.
#pragma once

#include "duplex/http/head_parser.hpp"

namespace duplex::http {

/// A parsed response head (the client's view of a handshake answer), as views.
struct response {
  /// HTTP/1.x: the x.
  int version_minor = 1;
  /// The status code.
  int status = 0;
  /// The reason phrase (may be empty).
  std::string_view reason;
  /// Every header field, in order.
  std::vector<header> headers;

  /// First value of a header, compared without regard to case; nullopt when absent.
  std::optional<std::string_view> find(std::string_view name) const noexcept;
  /// How many fields are named `name`.
  std::size_t count(std::string_view name) const noexcept;
};

/// Parses one response head (RFC 9112 section 4) incrementally.
class response_parser final : public head_parser {
 public:
  /// A parser within `limits`.
  explicit response_parser(parser_limits limits = {}) : head_parser(limits) {}
  /// After `complete`: the response (views into the last buffer parsed).
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
