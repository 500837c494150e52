#include "io_calls.hpp"

namespace duplex::net {

// Constant-initialized: the real calls are in place before main and on every thread.
constinit io_calls io;

}  // namespace duplex::net
