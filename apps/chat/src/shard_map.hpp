// Which of several independent Redis servers holds a feed or a user: rendezvous hashing on the
// name, so that adding a shard moves only the names it wins and the order of --redis is free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::chat {

class shard_map {
 public:
  // One identity per shard ("host:port" as configured): a name's place depends on these
  // strings only, not on their order nor on the process.
  explicit shard_map(std::vector<std::string> ids) : ids_(std::move(ids)) {}

  std::size_t size() const noexcept { return ids_.size(); }
  // The shard whose (id, name) score is highest; 0 with a single shard.
  std::size_t of(std::string_view name) const noexcept;

  // A stable 64-bit hash (FNV-1a, then a finaliser that spreads its bits): the same on every
  // node and every build, which std::hash does not promise.
  static std::uint64_t hash(std::string_view a, std::string_view b) noexcept;

 private:
  std::vector<std::string> ids_;
};

}  // namespace duplex::chat
