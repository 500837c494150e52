// A parsed HTTP/1.1 request head (views into the buffer the parser was given), and the RFC 9112
// rules read from it: target forms, body framing, Host and keep-alive.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "duplex/http/error.hpp"

namespace duplex::http {

/// One header field, as views into the parsed buffer.
struct header {
  /// As sent (compare without regard to case).
  std::string_view name;
  /// Without leading and trailing whitespace.
  std::string_view value;
};

/// A parsed request head: views into the buffer the parser was given, valid while it is.
struct request {
  /// "GET", "POST"... (case-sensitive, as sent).
  std::string_view method;
  /// The request target as sent (see path() and query()).
  std::string_view target;
  int version_minor = 1;  ///< HTTP/1.x: the x
  /// Every header field, in order, repeats included.
  std::vector<header> headers;

  /// First value of a header, compared without regard to case; nullopt when absent.
  std::optional<std::string_view> find(std::string_view name) const noexcept;
  /// How many fields are named `name`, compared without regard to case.
  std::size_t count(std::string_view name) const noexcept;

  /// The target's path and its query (without '?'), whatever its form (see split_target): the
  /// path of "http://h/a?q" is "/a", of "http://h" is "/", of "*" is "*". Empty for a target that
  /// is not a valid origin-, absolute- or asterisk-form.
  std::string_view path() const noexcept;
  /// See path().
  std::string_view query() const noexcept;
  /// Host and port the request is for. RFC 9112 section 3.2.2: the authority of an absolute-form
  /// target takes precedence over the Host header, which is used otherwise; empty when neither.
  std::string_view authority() const noexcept;
};

/// RFC 9112 section 3.2: the forms a request-target takes.
enum class target_form : std::uint8_t {
  invalid,
  origin,     ///< "/path?query" (section 3.2.1)
  absolute,   ///< "http://host:port/path?query" (section 3.2.2), http and https only
  authority,  ///< "host:port", for CONNECT only (section 3.2.3)
  asterisk,   ///< "*", for OPTIONS only (section 3.2.4)
};
/// A request target split by split_target().
struct target_parts {
  /// Which form it has; `invalid` when it is none.
  target_form form = target_form::invalid;
  std::string_view scheme;     ///< absolute-form, as sent ("http" or "https" in any case)
  std::string_view authority;  ///< absolute- and authority-form: host [":" port]
  std::string_view path;       ///< origin- and absolute-form ("/" when empty); "*" for asterisk
  std::string_view query;      ///< after '?', without it
};
/// Splits and checks a target whose characters the parser already limited to visible ASCII. An
/// absolute-form target must name the http or https scheme, a host that is not empty (RFC 9110
/// section 4.2.1) and no userinfo (section 4.2.4); any other scheme is invalid.
target_parts split_target(std::string_view target) noexcept;

bool iequals(std::string_view a, std::string_view b) noexcept;

/// RFC 9112 section 6.3: how the end of a request's body is found.
enum class body_kind : std::uint8_t {
  none,     ///< neither Content-Length nor Transfer-Encoding: no body (item 7)
  length,   ///< Content-Length: `length` octets, possibly 0
  chunked,  ///< Transfer-Encoding: chunked, the only coding (item 4)
  invalid,  ///< refused: answer status_for(error) and close (items 4 and 5; 501 for gzip etc.)
};
/// How a request's body ends, from request_body().
struct body_framing {
  /// None, a length, chunked, or invalid.
  body_kind kind = body_kind::none;
  /// For `length`: the Content-Length.
  std::uint64_t length = 0;
  /// For `invalid`: why.
  errc error{};
  /// Whether no body bytes follow the head.
  bool empty() const noexcept {
    return kind == body_kind::none || (kind == body_kind::length && length == 0);
  }
};
/// Content-Length is 1*DIGIT (RFC 9110 section 8.6): leading zeros are digits like any other, so
/// "00" is 0; a sign, a space, any other character, an empty value or a value beyond 64 bits is
/// invalid. Several values, as repeated fields or as a comma list ("5, 5"), are accepted when they
/// are all the same number (the RFC allows taking them as one); differing values are invalid
/// (RFC 9112 section 6.3 item 5), as is an empty list element. With Transfer-Encoding, any
/// Content-Length, HTTP/1.0, or a final coding other than a single chunked is invalid (sections
/// 6.1 and 6.3 item 4): each is a way to make two parsers disagree on where the body ends. A
/// coding applied before chunked ("gzip, chunked") is unsupported_transfer_coding (501): the
/// end can be told, but no decoder for it exists here (section 6.1).
body_framing request_body(const request& req) noexcept;

/// Whether a request may be answered without reading a body (RFC 9112): exactly one Host in
/// HTTP/1.1, and request_body() empty: Transfer-Encoding is answered with 501, a non-zero length
/// with 413, invalid framing with 400. `status` 0 accepts; otherwise it is the status to refuse
/// with, and `reason` says why.
struct refusal {
  /// 0 accepts; else the status to refuse with.
  int status = 0;
  /// Why, for the answer.
  std::string_view reason;
};
refusal check_without_body(const request& req) noexcept;
/// RFC 9112 section 9.3: whether the connection stays open after the response.
bool keeps_alive(const request& req) noexcept;

/// First value of a header in a list, and how many times it appears, ignoring case.
std::optional<std::string_view> find_header(const std::vector<header>& headers,
                                            std::string_view name) noexcept;
std::size_t count_header(const std::vector<header>& headers, std::string_view name) noexcept;

}  // namespace duplex::http
