// A parsed HTTP/1.1 request head: views into the buffer the parser was given.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace duplex::http {

struct header {
  std::string_view name;
  std::string_view value;
};

struct request {
  std::string_view method;
  std::string_view target;
  int version_minor = 1;  // HTTP/1.<minor>
  std::vector<header> headers;

  // First value of a header, compared without regard to case; nullopt when absent.
  std::optional<std::string_view> find(std::string_view name) const noexcept;
  std::size_t count(std::string_view name) const noexcept;

  // The target without its query string, and the query (without '?').
  std::string_view path() const noexcept;
  std::string_view query() const noexcept;
};

bool iequals(std::string_view a, std::string_view b) noexcept;

// Whether a request may be answered without reading a body (RFC 9112): exactly one Host in
// HTTP/1.1, no Transfer-Encoding, no Content-Length other than 0. `status` 0 accepts;
// otherwise it is the status to refuse with, and `reason` says why.
struct refusal {
  int status = 0;
  std::string_view reason;
};
refusal check_without_body(const request& req) noexcept;
// RFC 9112 section 9.3: whether the connection stays open after the response.
bool keeps_alive(const request& req) noexcept;

// First value of a header in a list, and how many times it appears, ignoring case.
std::optional<std::string_view> find_header(const std::vector<header>& headers,
                                            std::string_view name) noexcept;
std::size_t count_header(const std::vector<header>& headers, std::string_view name) noexcept;

}  // namespace duplex::http
