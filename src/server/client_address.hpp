// Who the client is behind trusted proxies: the list of proxy addresses (CIDRs) and the
// Forwarded / X-Forwarded-For headers, read only when the peer that sent them is trusted.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/http/request.hpp"
#include "duplex/net/address.hpp"

namespace duplex::detail {

// An IPv4 or IPv6 address as 16 bytes, IPv4 mapped (::ffff:a.b.c.d) so that one rule covers a
// peer whichever socket family it arrived on.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const ip_address&) const = default;
};

// "192.0.2.7", "2001:db8::1" or "[2001:db8::1]".
std::optional<ip_address> parse_ip(std::string_view text) noexcept;
std::optional<ip_address> ip_of(const net::address& a) noexcept;

// Addresses and ranges ("10.0.0.0/8", "192.0.2.7", "fd00::/8", "::1").
class proxy_trust {
 public:
  proxy_trust() = default;
  // Throws std::invalid_argument naming the first entry that is not an address or a range.
  explicit proxy_trust(const std::vector<std::string>& entries);
  bool empty() const noexcept { return ranges_.empty(); }
  bool trusts(const ip_address& ip) const noexcept;
  bool trusts(const net::address& a) const noexcept;

 private:
  struct range {
    ip_address base;
    unsigned prefix;  // bits, of the 128
  };
  std::vector<range> ranges_;
};

// The client a chain of trusted proxies reports in `req`: Forwarded (RFC 7239) if present,
// else X-Forwarded-For. Read from the right, each hop that is itself a trusted proxy is passed
// over, and the first one that is not is the client; when every hop is trusted, the leftmost.
// Nothing (keep the peer) when there is no such header or an entry is not an address (such as
// "unknown" or an obfuscated name). The text is "192.0.2.7" or "[2001:db8::1]", with ":port"
// when the header gave one.
std::optional<std::string> forwarded_client(const http::request& req, const proxy_trust& trust);

}  // namespace duplex::detail
