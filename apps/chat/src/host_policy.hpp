// Which Host names the chat answers to: the defence against DNS rebinding.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace duplex::chat {

// A page on a rebinding domain (evil.example resolving first to the attacker, then to
// 127.0.0.1) is same-origin with itself, so an Origin check alone lets it drive a chat on
// loopback or an intranet. Its requests still carry its own name in Host, and that is what is
// refused here. An IP literal cannot be rebound, so any is accepted; so are `localhost`, the
// name the server listens on, and the names an operator lists.
class host_policy {
 public:
  // `listen_host`: the --host value; `names`: from --allowed-host and the hosts of --public-url.
  host_policy(std::string_view listen_host, const std::vector<std::string>& names);

  // `authority`: the request's Host (or absolute-form authority), "name[:port]" or "[v6][:port]".
  bool allows(std::string_view authority) const;

 private:
  std::vector<std::string> names_;  // lower case, no trailing dot
};

// The host of "http[s]://host[:port][/...]", lower case; empty if the URL is not one.
std::string host_of_url(std::string_view url);

}  // namespace duplex::chat
