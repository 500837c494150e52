// A server-side ws::connection fed arbitrary bytes in arbitrary pieces.
#include "ws_connection.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duplex::fuzz::run_connection(duplex::ws::role::server, data, size);
  return 0;
}
