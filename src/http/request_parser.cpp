#include "duplex/http/request_parser.hpp"

#include <cstring>

namespace duplex::http {
namespace {

// RFC 9110 section 5.6.2: tchar.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

// RFC 9110 section 5.5: field-value is VCHAR, obs-text, SP and HTAB; CTLs (NUL, CR, LF, DEL)
// are refused so that no header can smuggle a line break.
bool is_field_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

// RFC 9112 section 3.2: origin-form and the other target forms use visible ASCII only.
bool is_target_char(unsigned char c) {
  return c > 0x20 && c < 0x7F;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

void request_parser::reset() noexcept {
  scanned_ = line_start_ = head_size_ = 0;
  have_request_line_ = false;
  method_ = target_ = {};
  version_minor_ = 1;
  headers_.clear();
  error_.clear();
  request_ = {};
}

request_parser::status request_parser::fail(errc e) {
  error_ = e;
  return status::error;
}

request_parser::status request_parser::parse(std::string_view buf) {
  if (error_) return status::error;
  if (head_size_ != 0) return status::complete;
  while (true) {
    const void* nl = scanned_ < buf.size()
                         ? std::memchr(buf.data() + scanned_, '\n', buf.size() - scanned_)
                         : nullptr;
    if (nl == nullptr) {
      scanned_ = buf.size();
      if (!have_request_line_ && buf.size() - line_start_ > limits_.max_target_bytes + 64)
        return fail(errc::target_too_long);
      if (buf.size() > limits_.max_head_bytes) return fail(errc::head_too_large);
      return status::incomplete;
    }
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
    scanned_ = end + 1;
    if (end + 1 > limits_.max_head_bytes) {
      return fail(have_request_line_ ? errc::head_too_large : errc::target_too_long);
    }
    const status s = parse_line(buf, line_start_, end);
    line_start_ = end + 1;
    if (s != status::incomplete) return s;
  }
}

// [begin, end) is a line without its LF.
request_parser::status request_parser::parse_line(std::string_view buf, std::size_t begin,
                                                  std::size_t end) {
  // RFC 9112 section 2.2: a bare CR or LF is not a line ending we accept.
  if (end == begin || buf[end - 1] != '\r') return fail(errc::bad_line_ending);
  std::string_view line = buf.substr(begin, end - 1 - begin);
  if (line.find('\r') != std::string_view::npos) return fail(errc::bad_line_ending);
  if (!have_request_line_) {
    // RFC 9112 section 2.2: a server SHOULD ignore empty lines before the request line.
    if (line.empty()) return status::incomplete;
    return parse_request_line(line, begin);
  }
  if (line.empty()) {
    head_size_ = end + 1;
    publish(buf);
    return status::complete;
  }
  return parse_header_line(line, begin);
}

request_parser::status request_parser::parse_request_line(std::string_view line,
                                                          std::size_t offset) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(errc::bad_request_line);
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(errc::bad_request_line);
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(errc::bad_method);
  if (target.size() > limits_.max_target_bytes) return fail(errc::target_too_long);
  if (target.empty()) return fail(errc::bad_target);
  for (char c : target)
    if (!is_target_char(static_cast<unsigned char>(c))) return fail(errc::bad_target);
  // RFC 9112 section 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return fail(errc::bad_version);
  }
  if (version[5] != '1') return fail(errc::version_not_supported);
  version_minor_ = version[7] - '0';
  auto at = [&](std::string_view part) {
    const auto b =
        static_cast<std::uint32_t>(offset + static_cast<std::size_t>(part.data() - line.data()));
    return span32{b, static_cast<std::uint32_t>(b + part.size())};
  };
  method_ = at(method);
  target_ = at(target);
  have_request_line_ = true;
  return status::incomplete;
}

request_parser::status request_parser::parse_header_line(std::string_view line,
                                                         std::size_t offset) {
  // RFC 9112 section 5.2: obs-fold is rejected with 400.
  if (is_ows(line.front())) return fail(errc::obsolete_line_folding);
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail(errc::bad_header_name);
  // RFC 9112 section 5.1: no whitespace between the field name and the colon.
  if (!is_token(line.substr(0, colon))) return fail(errc::bad_header_name);
  std::size_t vb = colon + 1;
  std::size_t ve = line.size();
  while (vb < ve && is_ows(line[vb]))
    ++vb;
  while (ve > vb && is_ows(line[ve - 1]))
    --ve;
  for (std::size_t i = vb; i < ve; ++i)
    if (!is_field_char(static_cast<unsigned char>(line[i]))) return fail(errc::bad_header_value);
  if (headers_.size() >= limits_.max_headers) return fail(errc::too_many_headers);
  const auto o = static_cast<std::uint32_t>(offset);
  headers_.push_back({{o, static_cast<std::uint32_t>(o + colon)},
                      {static_cast<std::uint32_t>(o + vb), static_cast<std::uint32_t>(o + ve)}});
  return status::incomplete;
}

void request_parser::publish(std::string_view buf) {
  auto view = [&](span32 s) { return buf.substr(s.begin, s.end - s.begin); };
  request_.method = view(method_);
  request_.target = view(target_);
  request_.version_minor = version_minor_;
  request_.headers.clear();
  request_.headers.reserve(headers_.size());
  for (const auto& h : headers_)
    request_.headers.push_back({view(h.name), view(h.value)});
}

}  // namespace duplex::http
