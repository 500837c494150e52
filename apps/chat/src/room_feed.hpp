// One room's ordered feed, without I/O: stored messages and store answers go in, and what to
// deliver to the room, which acks to send and what to read from the store come out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "store.hpp"

namespace duplex::chat {

// The store reports each room's messages in id order but perhaps with gaps (a lost feed, a
// failed write), and answers appends in any order relative to them. The feed turns that into:
// every message delivered once, in id order, nothing after a gap before the gap is read back,
// and each sender's ack only once its message has been delivered.
class room_feed {
 public:
  // Broadcast this message to the room.
  struct deliver {
    stored_message message;
  };
  // Tell `sender` its message `ref` was stored as `id` (it has been delivered by now).
  struct ack {
    std::uint64_t sender = 0;
    std::string ref;
    std::int64_t id = 0;
    std::string cid{};
  };
  // Read the messages with after_id < id <= up_to (at most `limit`) with store::range and hand
  // the answer to filled(). up_to is everything there is when it is `to_the_end`.
  struct fetch {
    std::int64_t after_id = 0;
    std::int64_t up_to = 0;
    std::size_t limit = 0;
  };
  using action = std::variant<deliver, ack, fetch>;
  // In the order they must be carried out. A fetch is always the last one: its answer may come
  // from inside the store's call, so nothing may be left to do after it.
  using actions = std::vector<action>;

  static constexpr std::int64_t to_the_end = std::numeric_limits<std::int64_t>::max();

  // `fetch_limit`: messages per read; `max_held`: messages kept past a gap (more are read back
  // from the store instead).
  explicit room_feed(std::size_t fetch_limit = 500, std::size_t max_held = 10'000)
      : fetch_limit_(fetch_limit), max_held_(max_held) {}

  // The store's last id for the room is known: messages and acks that came before are let out.
  actions open(std::int64_t last_id);
  // A message of the store's feed.
  actions message(const stored_message& m);
  // The store answered an append of `sender` with `id`.
  actions stored(std::int64_t id, std::uint64_t sender, std::string ref, std::string cid = {});
  // The answer to the last fetch.
  actions filled(bool ok, std::vector<stored_message> messages);
  // The feed was lost and is back: read everything after what was delivered.
  actions resync();

  bool ready() const noexcept { return ready_; }
  bool filling() const noexcept { return fetching_.has_value(); }
  // A read under way or acks owed: the room must be kept for them.
  bool busy() const noexcept { return filling() || !acks_.empty(); }
  // The last id delivered (or, before any, the store's last id at open()).
  std::int64_t delivered_id() const noexcept { return delivered_; }
  std::size_t held() const noexcept { return held_.size(); }

 private:
  struct owed_ack {
    std::uint64_t sender;
    std::string ref;
    std::string cid;
  };
  void deliver_one(stored_message m, actions& out);
  void release_acks(actions& out);
  void drain_held(actions& out);
  void start_fetch(std::int64_t up_to, actions& out);

  std::size_t fetch_limit_;
  std::size_t max_held_;
  bool ready_ = false;
  std::int64_t delivered_ = 0;
  std::optional<fetch> fetching_;                // the read under way
  std::map<std::int64_t, stored_message> held_;  // arrived past a gap, or before open()
  // Stored, acknowledged once delivered; a resend of a stored cid may owe a second ack of an id.
  std::multimap<std::int64_t, owed_ack> acks_;
};

}  // namespace duplex::chat
