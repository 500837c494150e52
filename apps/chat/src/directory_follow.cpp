// directory_follow.hpp: the bounded queue of directory changes a node follows.
#include "directory_follow.hpp"

#include "hub.hpp"

namespace duplex::chat {

void directory_follow::push(const std::string& room, const std::string& user) {
  if (queued_.emplace(room, user).second) queue_.emplace_back(room, user);
}

void directory_follow::requeue_held(const holds_fn& holds) {
  queue_.clear();
  queued_.clear();
  for (const auto& [room, user] : holds()) {
    push(room, user);
    push(room, "");
  }
}

void directory_follow::changed(const std::vector<key>& list, bool complete, const holds_fn& holds) {
  if (!complete || queue_.size() + 2 * list.size() > max_pending) return requeue_held(holds);
  for (const auto& [room, user] : list) {
    if (!user.empty()) push(room, user);
    push(room, "");
  }
}

void directory_follow::work(hub& h, std::chrono::steady_clock::duration budget) {
  const auto end = std::chrono::steady_clock::now() + budget;
  while (!queue_.empty()) {
    const key& next = queue_.front();
    if (!h.room_changed(next.first, next.second, next.second.empty())) return;
    queued_.erase(next);
    queue_.pop_front();
    if (std::chrono::steady_clock::now() >= end) return;
  }
}

}  // namespace duplex::chat
