// The http layer's small parsers on any bytes: URLs (parse_url, host_header) and the Cookie
// header (find_cookie). None crashes, and what each accepts keeps its promises.
#include <string>
#include <string_view>
#include <vector>

#include "duplex/http/cookie.hpp"
#include "duplex/http/url.hpp"
#include "fuzz_check.hpp"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_url(std::string_view text) {
  duplex::http::url_parts u;
  if (!duplex::http::parse_url(text, u)) return;
  FUZZ_CHECK(!u.scheme.empty() && !u.host.empty());
  FUZZ_CHECK(!u.target.empty() && u.target.front() == '/');
  for (char c : u.target)
    FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7F);
  FUZZ_CHECK(!u.port || *u.port != 0);
  // What it accepted, written back with host_header, reads the same again.
  const std::uint16_t port = u.port.value_or(1);
  const std::string again =
      u.scheme + "://" + duplex::http::host_header(u.host, port, 0) + u.target;
  duplex::http::url_parts v;
  if (u.host.find_first_of("[]") != std::string::npos) return;  // not writable back
  FUZZ_CHECK(duplex::http::parse_url(again, v));
  FUZZ_CHECK(v.scheme == u.scheme && v.host == u.host && v.port == port && v.target == u.target);
}

void check_cookie(std::string_view text) {
  // The first line is the name asked for, the rest one Cookie header's value.
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos) return;
  const std::string_view name = text.substr(0, nl);
  const std::string_view value = text.substr(nl + 1);
  const std::vector<duplex::http::header> headers{{"Cookie", value}};
  const auto found = duplex::http::find_cookie(headers, name);
  if (!found) return;
  FUZZ_CHECK(inside(*found, value));
  FUZZ_CHECK(found->find(';') == std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_url(text);
  check_cookie(text);
  return 0;
}
