// Runs bytes through a ws::connection and records what came out, for the protocol tests.
#pragma once

#include <string>
#include <vector>

#include "duplex/ws/connection.hpp"
#include "support/frames.hpp"
#include "support/splits.hpp"

namespace duplex::test {

struct recorded {
  ws::event_type type;
  ws::opcode op;
  bool last;
  std::uint16_t code;
  std::string data;
  std::error_code error;
};

struct run_result {
  std::vector<recorded> events;
  std::vector<parsed_frame> sent;  // frames the connection wrote
  ws::state state;
};

inline recorded record(const ws::event& e) {
  return {e.type, e.op, e.last, e.code, std::string(e.data), e.error};
}

inline void pump(ws::connection& c, std::string bytes, run_result& res) {
  c.receive(bytes);
  while (auto ev = c.next_event())
    res.events.push_back(record(*ev));
}

// With `deflate`, the connection runs with permessage-deflate agreed on those parameters.
inline run_result run(const pieces& parts, ws::limits l = {}, ws::role r = ws::role::server,
                      const ws::deflate_params* deflate = nullptr) {
  ws::connection c(r, l);
  if (deflate) c.enable_deflate(*deflate);
  run_result res;
  for (const auto& p : parts)
    pump(c, p, res);
  std::string out(c.pending_output());
  parsed_frame f;
  while (take_frame(out, f))
    res.sent.push_back(f);
  res.state = c.state();
  return res;
}

inline const recorded* last_close(const run_result& r) {
  for (auto it = r.events.rbegin(); it != r.events.rend(); ++it)
    if (it->type == ws::event_type::close) return &*it;
  return nullptr;
}

}  // namespace duplex::test
