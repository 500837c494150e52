#include "duplex/http/url.hpp"

namespace duplex::http {
namespace {

// RFC 3986 section 3.2.3: port = *DIGIT; we also refuse 0 and an empty port after a colon.
std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// Splits host[:port] or [v6][:port]; false when it is malformed.
bool split_authority(std::string_view authority, url_parts& out) {
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  std::string_view port;
  bool has_port = false;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port = authority.substr(close + 2);
      has_port = true;
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) return false;
  if (!has_port) return true;
  out.port = parse_port(port);
  return out.port.has_value();
}

}  // namespace

bool parse_url(std::string_view url, url_parts& out) {
  out = url_parts{};
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  out.scheme = std::string(url.substr(0, sep));
  url.remove_prefix(sep + 3);
  const auto slash = url.find_first_of("/?");
  if (!split_authority(url.substr(0, slash), out)) return false;
  if (slash != std::string_view::npos) {
    out.target = std::string(url.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  return true;
}

std::string host_header(std::string_view host, std::uint16_t port, std::uint16_t default_port) {
  std::string h =
      host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  if (port != default_port) h += ":" + std::to_string(port);
  return h;
}

}  // namespace duplex::http
