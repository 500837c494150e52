#include "client_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

#include "duplex/http/token_list.hpp"

namespace duplex::detail {
namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

ip_address from_v4(const void* four) noexcept {
  ip_address ip;
  std::memcpy(ip.bytes.data(), v4_mapped.data(), v4_mapped.size());
  std::memcpy(ip.bytes.data() + 12, four, 4);
  return ip;
}

bool is_v4(const ip_address& ip) noexcept {
  return std::memcmp(ip.bytes.data(), v4_mapped.data(), v4_mapped.size()) == 0;
}

std::string to_text(const ip_address& ip) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (is_v4(ip)) {
    ::inet_ntop(AF_INET, ip.bytes.data() + 12, buf, sizeof buf);
    return buf;
  }
  ::inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf);
  return "[" + std::string(buf) + "]";
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

struct hop {
  ip_address ip;
  std::string_view port;  // digits, or empty
};

bool valid_port(std::string_view p) noexcept {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  return ec == std::errc() && end == p.data() + p.size() && v <= 65535;
}

// "192.0.2.7", "192.0.2.7:80", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:80".
std::optional<hop> parse_hop(std::string_view s) noexcept {
  std::string_view host = s, port;
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else if (s.find(':') == s.rfind(':') && s.find(':') != std::string_view::npos) {
    host = s.substr(0, s.find(':'));
    port = s.substr(s.find(':') + 1);
    if (!valid_port(port)) return std::nullopt;
  }
  const auto ip = parse_ip(host);
  if (!ip) return std::nullopt;
  return hop{*ip, port};
}

// The for= parameter of one Forwarded element ("for=192.0.2.7;proto=https").
std::optional<std::string_view> for_param(std::string_view element) noexcept {
  while (!element.empty()) {
    const auto semi = element.find(';');
    const std::string_view pair = trim(element.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && iequals(trim(pair.substr(0, eq)), "for")) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    if (semi == std::string_view::npos) break;
    element.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

// Every hop the headers list as text, leftmost first (at most 64: no chain is longer, and
// what a client wrote at the far left is never read).
std::vector<std::string_view> collect_hops(const http::request& req) {
  const bool forwarded = req.find("forwarded").has_value();
  std::vector<std::string_view> hops;
  for (const auto& h : req.headers) {
    if (!iequals(h.name, forwarded ? "forwarded" : "x-forwarded-for")) continue;
    http::for_each_token(h.value, [&](std::string_view item) {
      const auto text = forwarded ? for_param(item) : std::optional<std::string_view>(item);
      if (hops.size() == 64) hops.erase(hops.begin());
      hops.push_back(text.value_or(std::string_view{}));
      return true;
    });
  }
  return hops;
}

}  // namespace

std::optional<ip_address> parse_ip(std::string_view text) noexcept {
  if (text.starts_with('[') && text.ends_with(']')) text = text.substr(1, text.size() - 2);
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr v4;
  if (::inet_pton(AF_INET, buf, &v4) == 1) return from_v4(&v4);
  ip_address ip;
  if (::inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

std::optional<ip_address> ip_of(const net::address& a) noexcept {
  if (a.family() == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, a.storage, sizeof in);
    return from_v4(&in.sin_addr);
  }
  if (a.family() == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, a.storage, sizeof in6);
    ip_address ip;
    std::memcpy(ip.bytes.data(), &in6.sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

proxy_trust::proxy_trust(const std::vector<std::string>& entries) {
  for (const auto& e : entries) {
    const auto slash = e.find('/');
    const auto base = parse_ip(std::string_view(e).substr(0, slash));
    unsigned prefix = base && is_v4(*base) ? 32 : 128;
    bool ok = base.has_value();
    if (ok && slash != std::string::npos) {
      const std::string_view bits = std::string_view(e).substr(slash + 1);
      unsigned n = 0;
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
      ok = ec == std::errc() && end == bits.data() + bits.size() && !bits.empty() && n <= prefix;
      prefix = n;
    }
    if (!ok) throw std::invalid_argument("trusted_proxies: '" + e + "' is not an address or range");
    // An IPv4 prefix counts within the mapped form's last 32 bits.
    ranges_.push_back({*base, is_v4(*base) ? 96 + prefix : prefix});
  }
}

bool proxy_trust::trusts(const ip_address& ip) const noexcept {
  for (const auto& r : ranges_) {
    const unsigned whole = r.prefix / 8, rest = r.prefix % 8;
    if (std::memcmp(ip.bytes.data(), r.base.bytes.data(), whole) != 0) continue;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    if ((ip.bytes[whole] & mask) == (r.base.bytes[whole] & mask)) return true;
  }
  return false;
}

bool proxy_trust::trusts(const net::address& a) const noexcept {
  const auto ip = ip_of(a);
  return ip && trusts(*ip);
}

std::optional<std::string> forwarded_client(const http::request& req, const proxy_trust& trust) {
  const auto hops = collect_hops(req);
  // From the right: each hop a trusted proxy added is passed over; one that is not an address
  // ("unknown", an obfuscated name, garbage) ends the walk with no answer.
  for (std::size_t i = hops.size(); i-- > 0;) {
    const auto h = parse_hop(hops[i]);
    if (!h) return std::nullopt;
    if (i > 0 && trust.trusts(h->ip)) continue;
    std::string out = to_text(h->ip);
    if (!h->port.empty()) out.append(":").append(h->port);
    return out;
  }
  return std::nullopt;
}

}  // namespace duplex::detail
