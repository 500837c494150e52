// Why a duplex::client never opened: a code to branch on, and the detail for a person.
#pragma once

#include <string>
#include <system_error>

namespace duplex {

enum class client_errc {
  bad_url = 1,         // not a ws:// or wss:// URL
  header_not_allowed,  // a header of client_options could split the request
  tls_setup,           // the TLS configuration cannot be used (a CA file, say)
  resolve_failed,      // the host name did not resolve
  connect_failed,      // TCP connect failed (refused, unreachable)
  tls_failed,          // the TLS handshake failed (an untrusted certificate, a wrong name)
  refused,             // the server answered with a status other than 101
  bad_handshake,       // the answer was malformed or broke RFC 6455 section 4.1
  closed_early,        // the connection ended during the handshake
  open_timeout,        // client_options::open_timeout passed
  proxy_refused,       // the HTTP proxy answered CONNECT with a status other than 2xx
  proxy_failed,        // the proxy's answer was malformed, or the proxy setting is not usable
};

const std::error_category& client_category() noexcept;
std::error_code make_error_code(client_errc e) noexcept;

struct client_error {
  std::error_code code;
  std::string detail;  // what happened, with names and numbers ("server answered 403 Forbidden")
  int status = 0;      // the HTTP status of a refusal (refused), 0 otherwise
  const std::string& message() const noexcept { return detail; }
};

}  // namespace duplex

template <>
struct std::is_error_code_enum<duplex::client_errc> : std::true_type {};
