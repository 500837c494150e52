// What a proxy says about the client, on any bytes: the PROXY v2 parser (read as a socket would
// feed it, exactly the bytes it asks for) and the Forwarded / X-Forwarded-For walk.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "net/proxy_header.hpp"
#include "server/client_address.hpp"

namespace {

using duplex::net::parse_proxy_v2;
using duplex::net::proxy_status;

void check_proxy(std::string_view input) {
  // Fed as the server reads: only what the parser asks for, so it must never ask past the end
  // of the header it then reports, and must agree with a parse of the whole input at once.
  std::string have;
  auto r = parse_proxy_v2(have);
  while (r.status == proxy_status::need_more) {
    FUZZ_CHECK(r.need > 0);
    if (have.size() + r.need > input.size()) return;
    have.append(input.substr(have.size(), r.need));
    r = parse_proxy_v2(have);
  }
  const auto whole = parse_proxy_v2(input);
  FUZZ_CHECK(whole.status == r.status);
  if (r.status != proxy_status::done) return;
  FUZZ_CHECK(r.size == have.size() && whole.size == r.size);
  FUZZ_CHECK(r.size <= duplex::net::proxy_v2_max_size);
  if (r.proxied) FUZZ_CHECK(r.source.to_string() != "?");
}

void check_forwarded(std::string_view input) {
  // The first line lists trusted ranges (comma separated), each later line is one header:
  // "F" Forwarded, anything else X-Forwarded-For.
  const auto nl = input.find('\n');
  if (nl == std::string_view::npos) return;
  std::vector<std::string> ranges;
  for (std::string_view r = input.substr(0, nl); !r.empty();) {
    const auto comma = r.find(',');
    ranges.emplace_back(r.substr(0, comma));
    r = comma == std::string_view::npos ? std::string_view{} : r.substr(comma + 1);
  }
  duplex::detail::proxy_trust trust;
  try {
    trust = duplex::detail::proxy_trust(ranges);
  } catch (const std::invalid_argument&) {
    return;
  }
  duplex::http::request req;
  for (std::string_view rest = input.substr(nl + 1); !rest.empty();) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    if (!line.empty())
      req.headers.push_back({line[0] == 'F' ? "Forwarded" : "X-Forwarded-For", line.substr(1)});
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  const auto client = duplex::detail::forwarded_client(req, trust);
  // Whatever it names is an address that reads back as one.
  if (client) {
    std::string_view ip = *client;
    if (ip.starts_with('['))
      ip = ip.substr(0, ip.find(']') + 1);
    else
      ip = ip.substr(0, ip.find(':'));
    FUZZ_CHECK(duplex::detail::parse_ip(ip).has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_proxy(input);
  check_forwarded(input);
  return 0;
}
