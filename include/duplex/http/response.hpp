// Serializer for HTTP/1.1 response heads that refuses header injection.
#pragma once

#include <string>
#include <string_view>

namespace duplex::http {

std::string_view reason_phrase(int status) noexcept;

/// Appends "name: value\r\n" to `out` (a request's or a response's head). Returns false, and
/// writes nothing, if the name is not a token (RFC 9110 section 5.1) or the value holds a CR, LF
/// or NUL: a value taken from user input can never split the head.
bool append_field(std::string& out, std::string_view name, std::string_view value);

/// Appends a response to `out`: status line, headers, blank line, body.
class response_writer {
 public:
  /// Appends the status line for `status` to `out`.
  explicit response_writer(std::string& out, int status);

  /// append_field's rules: false, and nothing written, for a field that could split the head.
  bool header(std::string_view name, std::string_view value);
  /// Appends Content-Length: n.
  void content_length(std::size_t n);
  /// Ends the head and appends `body`.
  void finish(std::string_view body = {});

 private:
  std::string& out_;
};

}  // namespace duplex::http
