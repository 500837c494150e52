#include "duplex/http/head_parser.hpp"

#include <cstring>

#include "duplex/http/grammar.hpp"
#include "field_line.hpp"

namespace duplex::http {
int parse_http_version(std::string_view v) noexcept {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9')
    return -1;
  return v[5] == '1' ? v[7] - '0' : -2;
}

void head_parser::reset() noexcept {
  scanned_ = line_start_ = head_size_ = 0;
  have_start_line_ = false;
  headers_.clear();
  error_.clear();
  clear_start();
}

head_parser::status head_parser::fail(errc e) {
  error_ = e;
  return status::error;
}

head_parser::span32 head_parser::at(std::string_view part, std::string_view line,
                                    std::size_t offset) const {
  const auto b =
      static_cast<std::uint32_t>(offset + static_cast<std::size_t>(part.data() - line.data()));
  return span32{b, static_cast<std::uint32_t>(b + part.size())};
}

std::vector<header> head_parser::headers_in(std::string_view buf) const {
  std::vector<header> out;
  out.reserve(headers_.size());
  for (const auto& h : headers_)
    out.push_back({view(buf, h.name), view(buf, h.value)});
  return out;
}

head_parser::status head_parser::parse(std::string_view buf) {
  if (error_) return status::error;
  if (head_size_ != 0) return status::complete;
  while (true) {
    const void* nl = scanned_ < buf.size()
                         ? std::memchr(buf.data() + scanned_, '\n', buf.size() - scanned_)
                         : nullptr;
    if (nl == nullptr) {
      if (buf.size() > scanned_) bytes_scanned_ += buf.size() - scanned_;
      scanned_ = buf.size();
      if (!have_start_line_ && buf.size() - line_start_ > limits_.max_target_bytes + 64)
        return fail(errc::target_too_long);
      if (buf.size() > limits_.max_head_bytes) return fail(errc::head_too_large);
      return status::incomplete;
    }
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
    bytes_scanned_ += end + 1 - scanned_;
    scanned_ = end + 1;
    if (end + 1 > limits_.max_head_bytes) {
      return fail(have_start_line_ ? errc::head_too_large : errc::target_too_long);
    }
    const status s = parse_line(buf, line_start_, end);
    line_start_ = end + 1;
    if (s != status::incomplete) return s;
  }
}

// [begin, end) is a line without its LF.
head_parser::status head_parser::parse_line(std::string_view buf, std::size_t begin,
                                            std::size_t end) {
  bytes_scanned_ += end + 1 - begin;
  // RFC 9112 section 2.2: a bare CR or LF is not a line ending we accept.
  if (end == begin || buf[end - 1] != '\r') return fail(errc::bad_line_ending);
  std::string_view line = buf.substr(begin, end - 1 - begin);
  if (line.find('\r') != std::string_view::npos) return fail(errc::bad_line_ending);
  if (!have_start_line_) {
    // RFC 9112 section 2.2: empty lines before the start line SHOULD be ignored.
    if (line.empty()) return status::incomplete;
    const status s = parse_start_line(line, begin);
    if (s == status::incomplete) have_start_line_ = true;
    return s;
  }
  if (line.empty()) {
    const status s = publish(buf);
    if (s == status::complete) head_size_ = end + 1;
    return s;
  }
  return parse_header_line(line, begin);
}

head_parser::status head_parser::parse_header_line(std::string_view line, std::size_t offset) {
  detail::field_line f;
  if (const errc e = detail::split_field_line(line, f); e != errc{}) return fail(e);
  if (headers_.size() >= limits_.max_headers) return fail(errc::too_many_headers);
  const auto o = static_cast<std::uint32_t>(offset);
  headers_.push_back({{o, static_cast<std::uint32_t>(o + f.name_end)},
                      {static_cast<std::uint32_t>(o + f.value_begin),
                       static_cast<std::uint32_t>(o + f.value_end)}});
  return status::incomplete;
}

}  // namespace duplex::http
