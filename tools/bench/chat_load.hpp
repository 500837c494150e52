// The chat load: guests of duplex-chat nodes in rooms, saying timestamped messages at a set
// rate, with end-to-end latency measured where each message is delivered.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat_plan.hpp"

namespace duplex::bench {

struct chat_config {
  std::vector<std::string> urls;  // ws://host:port/ws of each node
  unsigned users = 200;
  unsigned rooms = 20;
  room_mix mix = room_mix::zipf;
  bench::placement placement = placement::room;
  double rate = 50;        // messages per second over every user, in total
  std::size_t size = 64;   // bytes of each message's text (the timestamp included)
  double warmup = 1;       // seconds of sending before the measured window
  double duration = 5;     // the measured window
  double drain = 3;        // at most this long after the window for its messages to arrive
  double open_limit = 60;  // at most this long for every user to connect and join
  std::string prefix;      // of nicknames, rooms and cids: a run of its own
  bool quiet = false;
  bool mark_window = false;  // "window start" and "window end" lines on stderr as they pass
};

// Runs the whole load on this thread and returns its figures (see docs/design.md, duplex-bench).
// Throws std::runtime_error when no user could join.
nlohmann::json run_chat(const chat_config& cfg);

}  // namespace duplex::bench
