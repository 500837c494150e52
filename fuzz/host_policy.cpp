// The chat's Host check on any authority a peer sends: it never crashes, and what it lets in is
// an IP literal, localhost or a listed name, whatever the case, port or trailing dot.
#include <arpa/inet.h>

#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/host_policy.hpp"

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view authority(reinterpret_cast<const char*>(data), size);
  static const duplex::chat::host_policy policy("chat.internal", {"chat.example.com"});
  if (!policy.allows(authority)) return 0;
  // Whatever was let in names one of the allowed hosts once its port is cut off.
  std::string host;
  if (authority.starts_with('[')) {
    host = std::string(authority.substr(1, authority.find(']') - 1));
  } else {
    host = lower(authority.substr(0, authority.find(':')));
    if (!host.empty() && host.back() == '.') host.pop_back();
  }
  FUZZ_CHECK(is_ip(host) || host == "localhost" || host == "chat.internal" ||
             host == "chat.example.com");
  // And duplex::chat::host_of_url never crashes on the same bytes as a URL.
  (void)duplex::chat::host_of_url(authority);
  return 0;
}
