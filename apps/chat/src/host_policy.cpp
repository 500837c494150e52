#include "host_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace duplex::chat {
namespace {

std::string normalized(std::string_view name) {
  std::string out(name);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  if (!out.empty() && out.back() == '.') out.pop_back();  // "localhost." names the same host
  return out;
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool valid_port(std::string_view port) {
  return !port.empty() && port.size() <= 5 &&
         std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The host part of "name[:port]" or "[v6][:port]"; nullopt-like empty on a malformed value.
std::string host_part(std::string_view authority, bool& bracketed) {
  bracketed = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return {};
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return {};
    bracketed = true;
    return std::string(authority.substr(1, close - 1));
  }
  const auto colon = authority.find(':');
  if (colon != std::string_view::npos && !valid_port(authority.substr(colon + 1))) return {};
  return normalized(authority.substr(0, colon));
}

}  // namespace

host_policy::host_policy(std::string_view listen_host, const std::vector<std::string>& names) {
  names_.push_back("localhost");
  names_.push_back(normalized(listen_host));
  for (const auto& n : names)
    names_.push_back(normalized(n));
}

bool host_policy::allows(std::string_view authority) const {
  bool bracketed = false;
  const std::string host = host_part(authority, bracketed);
  if (host.empty()) return false;
  if (bracketed) return is_ipv6(host);
  if (is_ipv4(host)) return true;
  return std::find(names_.begin(), names_.end(), host) != names_.end();
}

std::string host_of_url(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!url.starts_with(scheme)) continue;
    std::string_view rest = url.substr(scheme.size());
    rest = rest.substr(0, rest.find_first_of("/?#"));
    bool bracketed = false;
    std::string host = host_part(rest, bracketed);
    return bracketed ? "[" + host + "]" : host;
  }
  return {};
}

}  // namespace duplex::chat
