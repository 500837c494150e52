#include "duplex/http/response_parser.hpp"

namespace duplex::http {

std::optional<std::string_view> response::find(std::string_view name) const noexcept {
  return find_header(headers, name);
}

std::size_t response::count(std::string_view name) const noexcept {
  return count_header(headers, name);
}

void response_parser::clear_start() noexcept {
  status_ = 0;
  version_minor_ = 1;
  reason_ = {};
  response_ = {};
}

// RFC 9112 section 4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
response_parser::status response_parser::parse_start_line(std::string_view line,
                                                          std::size_t offset) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || line.size() < sp1 + 4) return fail(errc::bad_request_line);
  const int minor = parse_http_version(line.substr(0, sp1));
  if (minor == -1) return fail(errc::bad_version);
  if (minor == -2) return fail(errc::version_not_supported);
  const auto code = line.substr(sp1 + 1, 3);
  int value = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return fail(errc::bad_request_line);
    value = value * 10 + (c - '0');
  }
  const auto rest = line.substr(sp1 + 4);
  if (!rest.empty() && rest.front() != ' ') return fail(errc::bad_request_line);
  if (value < 100) return fail(errc::bad_request_line);
  status_ = value;
  version_minor_ = minor;
  reason_ = at(rest.empty() ? rest : rest.substr(1), line, offset);
  return status::incomplete;
}

response_parser::status response_parser::publish(std::string_view buf) {
  response_.status = status_;
  response_.version_minor = version_minor_;
  response_.reason = reason_.end > reason_.begin ? view(buf, reason_) : std::string_view{};
  response_.headers = headers_in(buf);
  return status::complete;
}

}  // namespace duplex::http
