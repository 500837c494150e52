// A client's address as the accounts keep it: the host without its port (shown in the list of
// sessions), and the key its sign-in attempts are counted under.
#pragma once

#include <string>
#include <string_view>

namespace duplex::chat {

// "1.2.3.4:5" -> "1.2.3.4", "[2001:db8::1]:5" -> "2001:db8::1"; a host without a port is kept
// as it is. Whatever is not an IP address comes back as it was given, cut to 64 bytes.
std::string peer_host(std::string_view peer);

// The unit a sign-in limit applies to: an IPv4 address, or the /64 an IPv6 address lies in
// (one host commonly holds a whole /64, so counting single addresses would count nothing).
// An IPv4-mapped IPv6 address counts as its IPv4 address. Not an IP: the text, cut to 64 bytes.
std::string address_key(std::string_view peer);

}  // namespace duplex::chat
