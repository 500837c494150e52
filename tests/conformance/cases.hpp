// The conformance cases, named after the Autobahn Testsuite ids (categories 1-7, 9, 10, 12, 13).
// Each states what RFC 6455 (and RFC 7692) require of the endpoint under test, which echoes
// every message back: the frames it must send in order, and how it must close.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "duplex/ws/deflate.hpp"

namespace duplex::conformance {

struct frame_spec {
  std::uint8_t first;     // FIN, RSV and opcode byte
  std::string payload;    // unmasked payload; the runner masks when the peer is a server
  int len_form = 0;       // force a length form (126 or 127) to test minimality
  bool compress = false;  // payload is deflated by the runner (RSV1 set on the frame)
};

struct expected_frame {
  std::uint8_t opcode;
  std::string payload;
};

struct case_spec {
  std::string id;
  std::string requirement;
  std::vector<std::vector<frame_spec>> writes;  // each inner list goes out in one write
  std::size_t chunk = 0;                        // >0: every write is cut into pieces of this size
  std::vector<expected_frame> expect;           // echoes and pongs, in order
  // 0: the endpoint must stay open (the runner then closes with 1000 and expects 1000 back);
  // otherwise the close code the endpoint must send (any of `codes`).
  std::vector<std::uint16_t> codes;
  bool deflate = false;             // negotiate permessage-deflate first
  ws::deflate_options offer{true};  // what the client side offers
};

// A case by id, built when its test runs. ctest runs every test in a process of its own, and
// the cases together hold 175 MB of payloads (messages up to 16 MiB): built up front, they cost
// each process two seconds before it could run its one case.
struct case_ref {
  std::string id;
  std::function<case_spec()> build;
  std::string name() const;  // the id, fit for a test name
};

std::vector<case_ref> all_cases();

}  // namespace duplex::conformance
