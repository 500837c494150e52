// The session cookie: the Set-Cookie lines the chat sends, and the token read back from a
// request's Cookie header (RFC 6265).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::chat {

struct cookie_options {
  std::string name = "duplex_session";
  // Under TLS: Secure, and the "__Host-" prefix, which browsers accept only with Secure,
  // Path=/ and no Domain, so a sibling subdomain cannot plant a session cookie of its own.
  bool secure = false;
  std::chrono::seconds max_age{std::chrono::hours(24 * 30)};
};

// The name actually used ("__Host-duplex_session" under TLS).
std::string cookie_name(const cookie_options& o);
// "Set-Cookie" value: <name>=<token>; Path=/; Max-Age=N; HttpOnly; SameSite=Lax[; Secure].
std::string session_cookie(const cookie_options& o, std::string_view token);
// The value that makes the browser forget it (sign-out): empty, Max-Age=0.
std::string clearing_cookie(const cookie_options& o);

// The value of the first cookie called `name` in a Cookie header ("a=1; b=2"), without the
// quotes RFC 6265 allows around it; nullopt when absent. Any bytes are accepted.
std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name);

}  // namespace duplex::chat
