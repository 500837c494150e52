#include "duplex/http/request.hpp"

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
  return target.substr(0, target.find('?'));
}

std::string_view request::query() const noexcept {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
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

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
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
  for (const auto& h : req.headers) {
    if (iequals(h.name, "Content-Length")) {
      has_length = true;
      if (!add_lengths(h.value, length)) return invalid(errc::bad_content_length);
    } else if (iequals(h.name, "Transfer-Encoding")) {
      has_coding = true;
      for_each_token(h.value, [&](std::string_view coding) {
        last_coding = coding;
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
