// The client's proxy parsers on any bytes: the proxy URL, no_proxy lists, and the proxy's answer
// to CONNECT fed in pieces. None crashes, and what each accepts keeps its promises.
#include <string>
#include <string_view>

#include "client/proxy.hpp"
#include "fuzz_check.hpp"

namespace {

using duplex::detail::proxy_answer;

void check_url(std::string_view text) {
  duplex::detail::proxy_config p;
  std::string error;
  if (!duplex::detail::proxy_config::parse(text, p, error)) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(!p.host.empty() && p.port != 0);
  FUZZ_CHECK(p.authorization.empty() || p.authorization.rfind("Basic ", 0) == 0);
  // The request it leads to is one head, with no line break smuggled in by the host.
  const std::string req = duplex::detail::connect_request(p, "h", 1);
  FUZZ_CHECK(req.find("\r\n\r\n") == req.size() - 4);
}

// The answer in pieces of `step` bytes: the outcome is settled once and never undone.
void check_answer(std::string_view bytes, std::size_t step) {
  std::string buf;
  duplex::http::response_parser parser;
  proxy_answer a;
  for (std::size_t at = 0; at < bytes.size() && a.result == proxy_answer::state::incomplete;
       at += step) {
    buf.append(bytes.substr(at, step));
    a = duplex::detail::read_proxy_answer(buf, parser);
  }
  if (a.result == proxy_answer::state::tunnel) FUZZ_CHECK(a.status >= 200 && a.status <= 299);
  if (a.result == proxy_answer::state::refused) {
    FUZZ_CHECK(a.status < 200 || a.status > 299);
    FUZZ_CHECK(!a.detail.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  // Line one: a proxy URL; line two: a no_proxy list; line three: a host. All of it: an answer.
  const auto nl1 = all.find('\n');
  const std::string_view url = all.substr(0, nl1);
  const std::string_view rest = nl1 == std::string_view::npos ? "" : all.substr(nl1 + 1);
  const auto nl2 = rest.find('\n');
  const std::string_view list = rest.substr(0, nl2);
  const std::string_view host = nl2 == std::string_view::npos ? "" : rest.substr(nl2 + 1);
  check_url(url);
  // "*" in a list exempts every host, wherever it stands.
  if (duplex::detail::no_proxy_matches(list, host, 443) == false)
    FUZZ_CHECK(list.find(",*,") == std::string_view::npos);
  FUZZ_CHECK(duplex::detail::no_proxy_matches("*", host, 1));
  check_answer(all, all.size() + 1);
  check_answer(all, 1 + size % 7);
  return 0;
}
