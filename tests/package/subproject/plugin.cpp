// A shared library of a consumer that links duplex's static layers (they must be PIC).
#include <duplex/server/server.hpp>

extern "C" int plugin_port() {
  duplex::server_options o;
  o.handle_signals = false;
  duplex::server s(o);
  s.listen();
  return s.port();
}
