// Where the chat keeps room history: one small interface, so that storage and fan-out can
// move to Redis for several nodes without touching the chat's rules.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::chat {

struct stored_message {
  std::string room;
  std::int64_t id = 0;  // increasing per room, assigned by the hub
  std::string nick;
  std::string text;
  std::int64_t ts_ms = 0;
};

class store {
 public:
  virtual ~store() = default;

  // Highest id ever stored for the room (0 if none).
  virtual std::int64_t last_id(std::string_view room) = 0;
  // Lowest id still kept for the room (0 if none); older ones were pruned.
  virtual std::int64_t first_id(std::string_view room) = 0;
  // Stores a message; `done(ok)` runs on the hub's thread once it is durable (or failed).
  // Completions come in the order of the calls.
  virtual void append(stored_message m, std::function<void(bool ok)> done) = 0;
  // Up to `limit` messages with id < before, oldest first.
  virtual std::vector<stored_message> before(std::string_view room, std::int64_t before_id,
                                             std::size_t limit) = 0;
  // Messages with after_id < id <= up_to, oldest first, at most `limit`.
  virtual std::vector<stored_message> range(std::string_view room, std::int64_t after_id,
                                            std::int64_t up_to, std::size_t limit) = 0;
  // Names of rooms that have history.
  virtual std::vector<std::string> rooms() = 0;
};

}  // namespace duplex::chat
