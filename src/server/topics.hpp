// Pub/sub on one loop: the loop's topics, and the topics one socket is subscribed to.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace duplex::detail {

class socket_conn;

struct topic {
  std::string name;
  std::vector<socket_conn*> subscribers;
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// A loop's topics by name; a topic lives while it has a subscriber.
using topic_map = std::unordered_map<std::string, topic, string_hash, std::equal_to<>>;

// The topics of one socket. Both sides are kept, so that leaving costs a scan of this socket's
// few topics and of one topic's subscribers, never of every topic. A socket subscribed to
// nothing (most idle ones) holds a null pointer.
class topic_set {
 public:
  bool add(topic_map& topics, std::string_view name, socket_conn* self);
  bool remove(topic_map& topics, std::string_view name, socket_conn* self);
  bool contains(std::string_view name) const noexcept;
  void clear(topic_map& topics, socket_conn* self);

 private:
  std::unique_ptr<std::vector<topic*>> mine_;
};

}  // namespace duplex::detail
