#include "address_ranges.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace duplex::chat {
namespace {

using bytes16 = std::array<std::uint8_t, 16>;

// An IPv4 address becomes ::ffff:a.b.c.d, so that one comparison serves both families.
std::optional<bytes16> parse_ip(const std::string& text, bool& v4) {
  bytes16 out{};
  if (::inet_pton(AF_INET, text.c_str(), out.data() + 12) == 1) {
    out[10] = out[11] = 0xff;
    v4 = true;
    return out;
  }
  v4 = false;
  if (::inet_pton(AF_INET6, text.c_str(), out.data()) == 1) {
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    v4 = std::equal(mapped, mapped + 12, out.begin());
    return out;
  }
  return std::nullopt;
}

// "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1"; a bare address is kept.
std::string host_part(std::string_view peer) {
  if (peer.starts_with('[')) {
    const auto end = peer.find(']');
    return std::string(peer.substr(1, end == std::string_view::npos ? 0 : end - 1));
  }
  const auto colon = peer.find(':');
  if (colon != std::string_view::npos && peer.find(':', colon + 1) == std::string_view::npos)
    return std::string(peer.substr(0, colon));
  return std::string(peer);
}

bool matches(const bytes16& a, const bytes16& b, unsigned prefix) {
  for (unsigned i = 0; i < 16 && prefix > 0; ++i, prefix = prefix > 8 ? prefix - 8 : 0) {
    const auto mask = static_cast<std::uint8_t>(prefix >= 8 ? 0xff : 0xff << (8 - prefix));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace

address_ranges address_ranges::loopback() {
  address_ranges r;
  r.add("127.0.0.0/8");
  r.add("::1/128");
  return r;
}

void address_ranges::add(std::string_view cidr) {
  const auto slash = cidr.find('/');
  bool v4 = false;
  const auto ip = parse_ip(std::string(cidr.substr(0, slash)), v4);
  const unsigned max = v4 ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const auto bits = cidr.substr(slash + 1);
    const auto r = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || r.ec != std::errc() || r.ptr != bits.data() + bits.size()) prefix = 999;
  }
  if (!ip || prefix > max)
    throw std::invalid_argument("'" + std::string(cidr) +
                                "' is not an address or range (e.g. 10.0.0.0/8, fd00::/8)");
  ranges_.push_back({*ip, prefix + (v4 ? 96 : 0)});
}

bool address_ranges::contains(std::string_view peer) const {
  bool v4 = false;
  const auto ip = parse_ip(host_part(peer), v4);
  if (!ip) return false;
  for (const auto& r : ranges_)
    if (matches(*ip, r.bytes, r.prefix)) return true;
  return false;
}

}  // namespace duplex::chat
