// Absolute URLs with an authority (RFC 3986 section 3): scheme://host[:port][/path][?query].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::http {

/// A URL split by parse_url().
struct url_parts {
  std::string scheme;                 ///< as written, before "://"
  std::string host;                   ///< without the brackets of an IPv6 literal
  std::optional<std::uint16_t> port;  ///< when the URL names one (1-65535)
  std::string target = "/";           ///< path and query, "/" when the URL has neither
};

/// False for a URL without "://", with userinfo ('@'), an empty host, a port that is empty, not
/// decimal or out of range, or a control character or space in the target.
bool parse_url(std::string_view url, url_parts& out);

/// The Host header for `host` (RFC 9110 section 7.2): IPv6 literals in brackets, and the port
/// only when it is not the scheme's default.
std::string host_header(std::string_view host, std::uint16_t port, std::uint16_t default_port);

}  // namespace duplex::http
