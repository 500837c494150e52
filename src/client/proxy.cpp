#include "proxy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "duplex/core/base64.hpp"
#include "duplex/http/url.hpp"

namespace duplex::detail {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) return false;
    out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
    i += 2;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// One no_proxy entry against a lower-case host.
bool entry_matches(std::string_view entry, const std::string& host, std::uint16_t port) {
  entry = trim(entry);
  if (entry.empty()) return false;
  if (entry == "*") return true;
  std::string name(entry);
  const auto colon = name.rfind(':');
  const auto bracket = name.rfind(']');
  const bool has_port = colon != std::string::npos &&
                        (bracket == std::string::npos ? name.find(':') == colon : colon > bracket);
  if (has_port) {
    const std::string digits = name.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(digits) != port)
      return false;
    name.resize(colon);
  }
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  if (name.rfind("*.", 0) == 0) name.erase(0, 1);
  if (!name.empty() && name.front() == '.') name.erase(0, 1);
  name = lower(name);
  if (name.empty()) return false;
  if (host == name) return true;
  return host.size() > name.size() && host.ends_with(name) &&
         host[host.size() - name.size() - 1] == '.';
}

// A registered name or an IP literal (RFC 3986 3.2.2), without percent-encoding.
bool host_chars(std::string_view host) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return std::all_of(host.begin(), host.end(), [v6](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~' || (v6 && c == ':');
  });
}

}  // namespace

bool proxy_config::parse(std::string_view url, proxy_config& out, std::string& error) {
  out = proxy_config{};
  std::string_view rest = trim(url);
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string scheme = lower(rest.substr(0, scheme_end));
    if (scheme != "http") {
      error = "proxy URL: only http:// proxies are supported, not " + scheme + "://";
      return false;
    }
    rest.remove_prefix(scheme_end + 3);
  }
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    if (slash + 1 != rest.size()) {
      error = "proxy URL: a path is not allowed";
      return false;
    }
    rest = rest.substr(0, slash);
  }
  const auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    std::string user, password;
    if (!percent_decode(userinfo.substr(0, colon), user) ||
        (colon != std::string_view::npos &&
         !percent_decode(userinfo.substr(colon + 1), password))) {
      error = "proxy URL: bad percent-encoding in the user or password";
      return false;
    }
    out.authorization = "Basic " + core::base64_encode(user + ":" + password);
    rest.remove_prefix(at + 1);
  }
  http::url_parts parts;
  if (!http::parse_url("http://" + std::string(rest) + "/", parts) || !host_chars(parts.host)) {
    error = "proxy URL: not a host[:port]: " + std::string(rest);
    return false;
  }
  out.host = std::move(parts.host);
  out.port = parts.port.value_or(80);
  return true;
}

bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port) {
  const std::string h = lower(host);
  while (!list.empty()) {
    const auto sep = list.find_first_of(", ");
    if (entry_matches(list.substr(0, sep), h, port)) return true;
    if (sep == std::string_view::npos) break;
    list.remove_prefix(sep + 1);
  }
  return false;
}

namespace {

const char* env(const char* lower_name, const char* upper_name) {
  const char* v = std::getenv(lower_name);
  if (v == nullptr || *v == '\0') v = std::getenv(upper_name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

std::optional<proxy_config> proxy_from_environment(bool secure, std::string_view host,
                                                   std::uint16_t port, std::string& error) {
  const char* value = secure ? env("https_proxy", "HTTPS_PROXY") : env("http_proxy", "HTTP_PROXY");
  if (value == nullptr) return std::nullopt;
  if (const char* bypass = env("no_proxy", "NO_PROXY");
      bypass && no_proxy_matches(bypass, host, port))
    return std::nullopt;
  proxy_config p;
  if (!proxy_config::parse(value, p, error)) {
    error = std::string(secure ? "https_proxy" : "http_proxy") + ": " + error;
    return std::nullopt;
  }
  return p;
}

std::string connect_request(const proxy_config& p, std::string_view host, std::uint16_t port) {
  const std::string authority = http::host_header(host, port, 0);
  std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!p.authorization.empty()) req += "Proxy-Authorization: " + p.authorization + "\r\n";
  return req + "\r\n";
}

proxy_answer read_proxy_answer(std::string& buffer, http::response_parser& parser) {
  proxy_answer a;
  const auto st = parser.parse(buffer);
  if (st == http::response_parser::status::incomplete) return a;
  if (st == http::response_parser::status::error) {
    a.result = proxy_answer::state::malformed;
    a.detail = "malformed answer from the proxy: " + parser.error().message();
    return a;
  }
  const http::response& res = parser.response();
  a.status = res.status;
  if (res.status < 200 || res.status > 299) {
    a.result = proxy_answer::state::refused;
    a.detail = "proxy answered " + std::to_string(res.status) + " " + std::string(res.reason);
    return a;
  }
  // Nothing may follow the answer before we speak: the server has not heard from us yet.
  if (buffer.size() > parser.head_size()) {
    a.result = proxy_answer::state::malformed;
    a.detail = "the proxy sent bytes after its answer to CONNECT";
    return a;
  }
  a.result = proxy_answer::state::tunnel;
  return a;
}

}  // namespace duplex::detail
