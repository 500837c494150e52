// HTTP CONNECT proxies for the client: the proxy's URL, the https_proxy/http_proxy/no_proxy
// conventions, the CONNECT request, and the reading of the proxy's answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duplex/http/response_parser.hpp"

namespace duplex::detail {

struct proxy_config {
  std::string host;  // without the brackets of an IPv6 literal
  std::uint16_t port = 80;
  std::string authorization;  // the Proxy-Authorization value ("Basic ..."), or empty

  // "http://[user[:password]@]host[:port][/]", or "host[:port]" as curl takes it; the user and
  // password may be percent-encoded. False, with `error` set, for anything else (an https://
  // proxy is refused: TLS to the proxy itself is not supported).
  static bool parse(std::string_view url, proxy_config& out, std::string& error);
};

// Whether a no_proxy list ("localhost,.example.com,10.0.0.1,*:8080") exempts host:port. An
// entry matches the host itself or, as a domain, its subdomains ("example.com" and
// ".example.com" both cover "a.example.com"); "*" matches everything; ":port" narrows an entry
// to that port. Case does not matter; IP ranges (CIDR) are not understood.
bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port);

// The proxy the environment names for a ws:// (http_proxy) or wss:// (https_proxy) connection
// to host:port, lower-case names first; nullopt when none or when no_proxy exempts it. A value
// that does not parse is an error, not a silent direct connection.
std::optional<proxy_config> proxy_from_environment(bool secure, std::string_view host,
                                                   std::uint16_t port, std::string& error);

std::string connect_request(const proxy_config& p, std::string_view host, std::uint16_t port);

// Reading the proxy's answer to CONNECT from the bytes so far.
struct proxy_answer {
  enum class state { incomplete, tunnel, refused, malformed } result = state::incomplete;
  int status = 0;
  std::string detail;  // for refused and malformed
};
proxy_answer read_proxy_answer(std::string& buffer, http::response_parser& parser);

}  // namespace duplex::detail
