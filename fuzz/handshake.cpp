// Parse a request, then validate it as an upgrade: a refusal names a documented status, an
// acceptance produces a well-formed 101 whose accept value matches the key.
#include "duplex/ws/handshake.hpp"
#include "duplex/http/request_parser.hpp"
#include "fuzz_check.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace duplex;
  const std::string buf(reinterpret_cast<const char*>(data), size);
  http::request_parser p;
  if (p.parse(buf) != http::request_parser::status::complete) return 0;
  ws::upgrade_request up;
  if (const auto ec = ws::validate_upgrade(p.request(), up)) {
    const int status = ws::status_for(static_cast<ws::handshake_errc>(ec.value()));
    FUZZ_CHECK(status == 400 || status == 426);
    return 0;
  }
  const std::string res = ws::accept_response(up.key);
  FUZZ_CHECK(res.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
  FUZZ_CHECK(res.find("Sec-WebSocket-Accept: " + ws::accept_key(up.key) + "\r\n") !=
             std::string::npos);
  FUZZ_CHECK(res.size() >= 4 && res.compare(res.size() - 4, 4, "\r\n\r\n") == 0);
  return 0;
}
