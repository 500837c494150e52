// Name resolution off the loop thread: getaddrinfo on a short-lived worker thread, the answer
// posted back to the loop, and an answer whose owner has gone dropped, never delivered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "duplex/net/address.hpp"
#include "duplex/net/event_loop.hpp"

namespace duplex::detail {

struct resolved {
  std::vector<net::address> addresses;  // in the order to try them (RFC 8305 section 4)
  std::string error;                    // set when there is no address
};

class resolver {
 public:
  using done_fn = std::function<void(resolved)>;
  // What a worker calls to look a name up; tests swap it to give a name several addresses.
  using lookup_fn = resolved (*)(const std::string& host, std::uint16_t port);
  static lookup_fn lookup;
  // The system's getaddrinfo, with the answer ordered for happy eyeballs.
  static resolved system_lookup(const std::string& host, std::uint16_t port);

  explicit resolver(net::event_loop& loop) : loop_(loop) {}
  ~resolver() { cancel(); }
  resolver(const resolver&) = delete;
  resolver& operator=(const resolver&) = delete;

  // Loop thread. `done` runs later on the loop thread, once, unless cancel() comes first.
  // Numeric addresses are answered without a thread.
  void start(const std::string& host, std::uint16_t port, done_fn done);
  // Loop thread: the pending answer, if any, is dropped.
  void cancel() noexcept;

 private:
  struct ticket;
  net::event_loop& loop_;
  std::shared_ptr<ticket> ticket_;
};

// IPv6 first, then the families alternate, each in the order the system gave (RFC 8305 4).
std::vector<net::address> interleave_families(std::vector<net::address> in);

}  // namespace duplex::detail
