// What the hub keeps in memory for private conversations and read marks (issue 11, items 5
// and 7): per signed-in user, and per conversation with a participant on this node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "room_feed.hpp"

namespace duplex::chat {

// A signed-in user's conversations and read marks, read from the store when its first session
// signs in and kept up to date while one is online.
struct private_state {
  enum class load : std::uint8_t { none, loading, loaded };
  load state = load::none;
  std::vector<std::uint64_t> waiting;  // sessions whose welcome waits for the load
  std::vector<std::uint64_t> asking;   // sessions whose `conversations` waits for it
  struct peer {
    std::string name;  // as shown
    std::string feed;
    std::int64_t last_id = 0;  // the highest id known here
  };
  std::map<std::string, peer, std::less<>> peers;         // the other user's key -> conversation
  std::map<std::string, std::int64_t, std::less<>> read;  // feed -> last read id
};

// A conversation with a participant on this node: its feed orders what reaches them.
struct conversation_state {
  std::string name;  // the feed
  struct side {
    std::string key;
    std::string name;
  };
  side a, b;  // a.key < b.key
  std::uint64_t serial = 0;
  std::size_t appending = 0;
  std::size_t pins = 0;
  room_feed feed;
  const side& other(std::string_view key) const { return key == a.key ? b : a; }
};

// The (feed, id) of the last `capacity` messages delivered without a conversation_state (the
// node was at max_conversations): the bus brings a message once per participant's channel that
// this node hears, and without a feed to order them, only this says it went out already.
class recent_ids {
 public:
  explicit recent_ids(std::size_t capacity) : capacity_(capacity) {}
  // True the first time; false when the pair is among the last `capacity` seen.
  bool first_time(const std::string& feed, std::int64_t id) {
    auto key = std::pair(feed, id);
    if (seen_.contains(key)) return false;
    if (order_.size() >= capacity_) {
      seen_.erase(order_.front());
      order_.pop_front();
    }
    seen_.insert(key);
    order_.push_back(std::move(key));
    return true;
  }

 private:
  std::size_t capacity_;
  std::deque<std::pair<std::string, std::int64_t>> order_;
  std::set<std::pair<std::string, std::int64_t>> seen_;
};

// Who may be written to while offline. The accounts give the server one; without it, only
// signed-in users online here and a user's existing conversations are known.
struct user_directory {
  // The shown name of the registered user with this account key (see hub::attach), or nothing.
  std::function<std::optional<std::string>(std::string_view key)> shown;
  // The account key of the registered user now shown under a name with this names::key.
  std::function<std::optional<std::string>(std::string_view shown_key)> account;
};

}  // namespace duplex::chat
