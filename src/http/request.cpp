#include "duplex/http/request.hpp"

#include <algorithm>

#include "duplex/http/grammar.hpp"
#include "duplex/http/token_list.hpp"

namespace duplex::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string_view> find_header(const std::vector<header>& headers,
                                            std::string_view name) noexcept {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::size_t count_header(const std::vector<header>& headers, std::string_view name) noexcept {
  std::size_t n = 0;
  for (const auto& h : headers)
    if (iequals(h.name, name)) ++n;
  return n;
}

std::optional<std::string_view> request::find(std::string_view name) const noexcept {
  return find_header(headers, name);
}

std::size_t request::count(std::string_view name) const noexcept {
  return count_header(headers, name);
}

std::string_view request::path() const noexcept {
  return split_target(target).path;
}

std::string_view request::query() const noexcept {
  return split_target(target).query;
}

std::string_view request::authority() const noexcept {
  const target_parts t = split_target(target);
  if (t.form == target_form::absolute) return t.authority;
  return find("Host").value_or(std::string_view{});
}

namespace {

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// RFC 3986 section 2.3 and 2.2: unreserved and sub-delims.
bool is_unreserved_or_sub_delim(char c) noexcept {
  if (is_alpha(c) || is_digit(c)) return true;
  for (char x : std::string_view("-._~!$&'()*+,;="))
    if (c == x) return true;
  return false;
}

// RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !is_alpha(s.front())) return false;
  for (char c : s)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

// RFC 3986 section 3.2.2, reg-name: unreserved, sub-delims and percent-encoded octets.
bool is_reg_name(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_unreserved_or_sub_delim(s[i])) {
      return false;
    }
  }
  return true;
}

// RFC 3986 section 3.2: host [":" port], without userinfo; the host is a reg-name, an IPv4
// address (which reg-name covers) or an IP-literal in brackets. The host must not be empty.
bool is_authority(std::string_view a, bool need_port) noexcept {
  std::string_view host = a;
  std::string_view rest;
  if (!a.empty() && a.front() == '[') {
    const auto close = a.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : a.substr(1, close - 1))
      if (!is_unreserved_or_sub_delim(c) && c != ':') return false;
    host = a.substr(0, close + 1);
    rest = a.substr(close + 1);
  } else {
    const auto colon = a.find(':');
    host = a.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : a.substr(colon);
    if (host.empty() || !is_reg_name(host)) return false;
  }
  if (rest.empty()) return !need_port;
  if (rest.front() != ':') return false;
  const auto port = rest.substr(1);
  if (need_port && port.empty()) return false;
  for (char c : port)
    if (!is_digit(c)) return false;
  return true;
}

// Path and query of what follows the authority (or of an origin-form target).
void split_path(std::string_view s, target_parts& out) noexcept {
  const auto q = s.find('?');
  out.path = s.substr(0, q);
  if (q != std::string_view::npos) out.query = s.substr(q + 1);
  // RFC 9110 section 4.2.3: an empty path is "/".
  if (out.path.empty()) out.path = "/";
}

}  // namespace

target_parts split_target(std::string_view target) noexcept {
  target_parts out;
  if (target.empty()) return out;
  if (target.front() == '/') {
    out.form = target_form::origin;
    split_path(target, out);
    return out;
  }
  if (target == "*") {
    out.form = target_form::asterisk;
    out.path = target;
    return out;
  }
  const auto colon = target.find(':');
  if (colon == std::string_view::npos) return out;
  const auto scheme = target.substr(0, colon);
  if (is_scheme(scheme) && target.substr(colon + 1, 2) == "//") {
    // RFC 9110 sections 4.2.1 and 4.2.2: http-URI = "http" "://" authority path-abempty
    // ["?" query]. Other schemes are nothing this server can be the origin of.
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return out;
    const auto rest = target.substr(colon + 3);
    const auto end = std::min(rest.find('/'), rest.find('?'));
    const auto authority = rest.substr(0, end);
    // Section 4.2.4: userinfo ("user@") is refused, so it can't pass for the host.
    if (!is_authority(authority, false)) return out;
    out.form = target_form::absolute;
    out.scheme = scheme;
    out.authority = authority;
    split_path(end == std::string_view::npos ? std::string_view{} : rest.substr(end), out);
    return out;
  }
  if (is_authority(target, true)) {
    out.form = target_form::authority;
    out.authority = target;
  }
  return out;
}

namespace {

// RFC 9110 section 8.6: Content-Length = 1*DIGIT. Leading zeros add nothing and cannot overflow.
std::optional<std::uint64_t> parse_length(std::string_view v) noexcept {
  if (v.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// Folds one Content-Length field value into `length`; false if it is malformed or names a
// different number than the values before it.
bool add_lengths(std::string_view value, std::optional<std::uint64_t>& length) noexcept {
  while (true) {
    const auto comma = value.find(',');
    const auto n = parse_length(trim_ows(value.substr(0, comma)));
    if (!n || (length && *length != *n)) return false;
    length = n;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

body_framing invalid(errc e) noexcept {
  return {body_kind::invalid, 0, e};
}

}  // namespace

body_framing request_body(const request& req) noexcept {
  std::optional<std::uint64_t> length;
  bool has_length = false;
  bool has_coding = false;
  std::string_view last_coding;
  int chunked = 0;
  int codings = 0;
  for (const auto& h : req.headers) {
    if (iequals(h.name, "Content-Length")) {
      has_length = true;
      if (!add_lengths(h.value, length)) return invalid(errc::bad_content_length);
    } else if (iequals(h.name, "Transfer-Encoding")) {
      has_coding = true;
      for_each_token(h.value, [&](std::string_view coding) {
        last_coding = coding;
        ++codings;
        if (iequals(coding, "chunked")) ++chunked;
        return true;
      });
    }
  }
  if (has_coding) {
    // RFC 9112 section 6.1: a server may refuse both; it is the classic smuggling request.
    if (has_length) return invalid(errc::length_with_transfer_encoding);
    // Section 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing. Section 6.3 item 4: the
    // length is unknown unless chunked is the final coding, and it is applied once at most.
    if (req.version_minor == 0 || chunked != 1 || !iequals(last_coding, "chunked"))
      return invalid(errc::bad_transfer_encoding);
    // Section 6.1: a coding before chunked (gzip, a coding we do not know) is one we do not
    // decode; the end is known, but the body would reach the handler still encoded.
    if (codings != 1) return invalid(errc::unsupported_transfer_coding);
    return {body_kind::chunked};
  }
  if (!has_length) return {};
  return {body_kind::length, *length};
}

refusal check_without_body(const request& req) noexcept {
  // RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one Host.
  if (req.version_minor >= 1 && req.count("Host") != 1)
    return {400, "missing or repeated Host header"};
  const body_framing body = request_body(req);
  switch (body.kind) {
    case body_kind::none:
      return {};
    case body_kind::length:
      return body.length == 0 ? refusal{} : refusal{413, "request bodies are not accepted"};
    case body_kind::chunked:
      // Section 6.1: a transfer coding we do not read is answered with 501.
      return {501, "request bodies are not accepted"};
    case body_kind::invalid:
      break;
  }
  return {status_for(body.error), reason_for(body.error)};
}

bool keeps_alive(const request& req) noexcept {
  const auto connection = req.find("Connection").value_or("");
  return req.version_minor >= 1 ? !has_token(connection, "close")
                                : has_token(connection, "keep-alive");
}

}  // namespace duplex::http
