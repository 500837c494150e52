// The Sec-WebSocket-Extensions parser on both sides: any header either yields an offer we can
// honor (and a well-formed answer that the client side accepts back) or is declined.
#include "duplex/ws/deflate.hpp"
#include "fuzz_check.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace duplex::ws;
  const std::string header(reinterpret_cast<const char*>(data), size);
  deflate_options server;
  server.enabled = true;
  server.client_max_window_bits = 12;
  if (auto agreed = negotiate_deflate(header, server)) {
    const auto& p = agreed->params;
    FUZZ_CHECK(p.server_max_window_bits >= 9 && p.server_max_window_bits <= 15);
    FUZZ_CHECK(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
    FUZZ_CHECK(agreed->response.rfind("permessage-deflate", 0) == 0);
    FUZZ_CHECK(agreed->response.find_first_of("\r\n") == std::string::npos);
  }
  deflate_options client;
  client.enabled = true;
  if (auto p = accept_deflate_response(header, client)) {
    FUZZ_CHECK(p->server_max_window_bits >= 8 && p->server_max_window_bits <= 15);
    FUZZ_CHECK(p->client_max_window_bits >= 8 && p->client_max_window_bits <= 15);
  }
  return 0;
}
