// The changes to a shared room directory that this node's sessions have yet to follow, worked
// through under a time budget, so that a burst of changes or a full re-check never stalls the
// event loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace duplex::chat {

class hub;

class directory_follow {
 public:
  // (room, user key); an empty user key stands for the room's own description.
  using key = std::pair<std::string, std::string>;
  // Every (room, user) this node holds: what a full re-check goes through.
  using holds_fn = std::function<std::vector<key>()>;

  // Queues what the directory reported: each user's change, and the room's description once
  // per room. Not `complete`: changes may have been missed, so everything held is queued.
  void changed(const std::vector<key>& list, bool complete, const holds_fn& holds);
  // Follows queued changes, oldest first, until the queue is empty or `budget` is spent. A
  // check the directory fails stays at the front and ends the round: it is tried again next.
  void work(hub& h, std::chrono::steady_clock::duration budget);
  std::size_t pending() const noexcept { return queue_.size(); }

  // Past this many queued changes, what is queued is dropped for one pass over what is held,
  // which is all that a node needs to check: the queue stays bounded whatever arrives.
  static constexpr std::size_t max_pending = 200'000;

 private:
  void push(const std::string& room, const std::string& user);
  void requeue_held(const holds_fn& holds);

  std::deque<key> queue_;
  std::set<key> queued_;  // what queue_ holds: a change reported twice is followed once
};

}  // namespace duplex::chat
