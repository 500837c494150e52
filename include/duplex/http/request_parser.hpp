// Resumable HTTP/1.1 request-head parser with hard limits; never re-scans bytes it has seen.
// request_reader adds the connection's buffer, for pipelined heads in linear time.
#pragma once

#include <string>

#include "duplex/http/head_parser.hpp"

namespace duplex::http {

/// Parses one request head (RFC 9112 section 3) incrementally.
class request_parser final : public head_parser {
 public:
  /// A parser within `limits`.
  explicit request_parser(parser_limits limits = {}) : head_parser(limits) {}
  /// Views into the buffer of the parse() call that completed.
  const http::request& request() const noexcept { return request_; }

 private:
  status parse_start_line(std::string_view line, std::size_t offset) override;
  status publish(std::string_view buf) override;
  void clear_start() noexcept override;

  span32 method_{}, target_{};
  int version_minor_ = 1;
  http::request request_;
};

/// The bytes a connection has received, parsed as one request head after another (RFC 9112
/// section 9.3.2: a client may pipeline). Heads are parsed from a read offset that consume()
/// advances; the bytes of consumed heads are dropped at the next append(), once per read rather
/// than once per request, so a read holding n pipelined requests costs O(bytes), not O(n * bytes).
class request_reader {
 public:
  /// As head_parser::status.
  using status = head_parser::status;
  /// A reader whose heads are held to `limits`.
  explicit request_reader(parser_limits limits = {}) : parser_(limits) {}

  /// Adds received bytes. The views of request() and after_head() are not valid after it.
  void append(std::string_view bytes);
  /// Parses the head at the read offset, resuming where the previous call stopped.
  status parse() { return parser_.parse(std::string_view(buf_).substr(offset_)); }
  /// After `complete`: the request (views valid until append()).
  const http::request& request() const noexcept { return parser_.request(); }
  /// After `error`: why.
  std::error_code error() const noexcept { return parser_.error(); }
  /// After `complete`: the head's length.
  std::size_t head_size() const noexcept { return parser_.head_size(); }
  /// After `complete`: what follows the head, such as WebSocket frames sent with an upgrade.
  std::string_view after_head() const noexcept {
    return std::string_view(buf_).substr(offset_ + parser_.head_size());
  }
  /// After `complete`: moves past the head, so that parse() reads the next one. Does nothing if
  /// no head is complete.
  void consume() noexcept;
  /// Bytes received and not consumed.
  std::size_t buffered() const noexcept { return buf_.size() - offset_; }
  /// The bytes received and not consumed: after consume() of a head with a body, the body's
  /// bytes come first, for a body_decoder. Not valid after append().
  std::string_view unread() const noexcept { return std::string_view(buf_).substr(offset_); }
  /// Drops `n` bytes (at most buffered()) from the front of unread(): what a body_decoder
  /// consumed. Only between consume() and the parse() of the next head, which starts after them.
  void skip(std::size_t n) noexcept;

  /// Work counters, which tests hold to linear bounds: the parser's bytes_scanned(), and the
  /// bytes append() moved to the front of the buffer.
  std::size_t bytes_scanned() const noexcept { return parser_.bytes_scanned(); }
  /// See bytes_scanned().
  std::size_t bytes_moved() const noexcept { return bytes_moved_; }

 private:
  void advance(std::size_t n) noexcept;

  std::string buf_;
  std::size_t offset_ = 0;  ///< start of the head being parsed
  std::size_t bytes_moved_ = 0;
  request_parser parser_;
};

}  // namespace duplex::http
