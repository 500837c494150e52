// Who may do what in each room, kept apart from the history: rooms with their topic, owner and
// invite-only flag, members by user with a role and a mute, bans and invitations. An interface
// with two backends: memory (tests, Redis mode) and SQLite (sqlite_directory.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duplex::chat {

enum class room_role : std::uint8_t { member, moderator, owner };
std::string_view room_role_name(room_role r) noexcept;
// Empty when `s` is not one of "member", "moderator", "owner".
std::optional<room_role> parse_room_role(std::string_view s) noexcept;

struct room_record {
  std::string name;  // names::room_key
  std::string topic;
  std::string owner;  // names::key of the owner, or empty: nobody moderates the room
  bool invite_only = false;
  std::int64_t created_ms = 0;
};

struct member_record {
  std::string user;  // names::key
  std::string name;  // as shown
  room_role role = room_role::member;
  std::int64_t muted_until_ms = 0;
};

struct directory_entry {
  room_record room;
  std::size_t members = 0;
};

// Synchronous, on the hub's thread: each call is a few indexed rows. The SQLite backend may
// throw (a locked or damaged file); the hub answers such a request with "store_failed".
class room_directory {
 public:
  virtual ~room_directory() = default;

  virtual std::optional<room_record> find(std::string_view room) = 0;
  // False when a room of that name exists already.
  virtual bool create(const room_record& r) = 0;
  // Topic, owner and invite_only of an existing room.
  virtual void update(const room_record& r) = 0;
  // Forgets the room with its members, bans and invitations (its history is the store's).
  virtual void remove_room(std::string_view room) = 0;
  // Rooms whose name or topic contains `query` (ASCII case-insensitive; empty: all), by name.
  virtual std::vector<directory_entry> search(std::string_view query, std::size_t limit) = 0;

  virtual std::optional<member_record> member(std::string_view room, std::string_view user) = 0;
  // Adds or replaces the member.
  virtual void put_member(std::string_view room, const member_record& m) = 0;
  virtual void remove_member(std::string_view room, std::string_view user) = 0;
  // Owner first, then moderators, then by name; at most `limit`.
  virtual std::vector<member_record> members(std::string_view room, std::size_t limit) = 0;
  virtual std::size_t member_count(std::string_view room) = 0;
  virtual std::vector<std::string> rooms_of(std::string_view user) = 0;
  virtual std::size_t owned_by(std::string_view user) = 0;

  virtual bool banned(std::string_view room, std::string_view user) = 0;
  virtual void set_banned(std::string_view room, std::string_view user, bool banned) = 0;
  virtual bool invited(std::string_view room, std::string_view user) = 0;
  virtual void set_invited(std::string_view room, std::string_view user, bool invited) = 0;
};

// In memory: what a node forgets when it stops. Used by the tests and in Redis mode (where the
// rooms are then this node's own: see docs/chat-protocol.md).
class memory_directory final : public room_directory {
 public:
  std::optional<room_record> find(std::string_view room) override;
  bool create(const room_record& r) override;
  void update(const room_record& r) override;
  void remove_room(std::string_view room) override;
  std::vector<directory_entry> search(std::string_view query, std::size_t limit) override;
  std::optional<member_record> member(std::string_view room, std::string_view user) override;
  void put_member(std::string_view room, const member_record& m) override;
  void remove_member(std::string_view room, std::string_view user) override;
  std::vector<member_record> members(std::string_view room, std::size_t limit) override;
  std::size_t member_count(std::string_view room) override;
  std::vector<std::string> rooms_of(std::string_view user) override;
  std::size_t owned_by(std::string_view user) override;
  bool banned(std::string_view room, std::string_view user) override;
  void set_banned(std::string_view room, std::string_view user, bool banned) override;
  bool invited(std::string_view room, std::string_view user) override;
  void set_invited(std::string_view room, std::string_view user, bool invited) override;

 private:
  using key = std::pair<std::string, std::string>;  // (room, user)
  std::map<std::string, room_record, std::less<>> rooms_;
  std::map<key, member_record> members_;
  std::set<key> bans_;
  std::set<key> invites_;
};

// True when `text` contains `query`, ASCII letters compared without case.
bool contains_folded(std::string_view text, std::string_view query) noexcept;

}  // namespace duplex::chat
