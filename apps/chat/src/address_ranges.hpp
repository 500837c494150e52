// Address ranges in CIDR notation ("127.0.0.0/8", "::1/128", "10.1.2.3") and whether a peer
// ("1.2.3.4:5", "[::1]:5") lies in one: who may read an operator's endpoint such as /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::chat {

class address_ranges {
 public:
  // Loopback only: 127.0.0.0/8 and ::1.
  static address_ranges loopback();
  // Adds a range; throws std::invalid_argument naming the text when it is not one.
  void add(std::string_view cidr);
  // A peer as the server reports it, with or without its port. An IPv4-mapped IPv6 address
  // counts as its IPv4 address; anything that is no IP address is in no range.
  bool contains(std::string_view peer) const;
  bool empty() const noexcept { return ranges_.empty(); }

 private:
  struct range {
    std::array<std::uint8_t, 16> bytes{};  // an IPv4 range as its mapped IPv6 form
    unsigned prefix = 0;                   // bits of `bytes` that must match
  };
  std::vector<range> ranges_;
};

}  // namespace duplex::chat
