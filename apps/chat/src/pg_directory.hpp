// The room directory in PostgreSQL (schema version 7), one for every node of a --pg deployment:
// a room created, a role, a ban or an invitation on one node holds on all. Each call is a bounded
// statement on the hub's loop (pg_sync: 200 ms, then fails at once for a backoff), and throws
// pg_error on failure, which the hub answers with "store_failed". Each change is announced on
// the channel duplex_rooms (a trigger, at commit); changes() gives what other nodes changed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pg_sync.hpp"
#include "room_directory.hpp"

namespace duplex::chat {

// A change another node made: the room's row (`user` empty) or one user's membership, ban or
// invitation in it.
struct room_change {
  std::string room;
  std::string user;
};

class pg_directory final : public room_directory {
 public:
  // Bounds as pg_account_bounds' loop_*: the hub waits for none longer.
  explicit pg_directory(std::string conninfo,
                        std::chrono::milliseconds connect = std::chrono::milliseconds(500),
                        std::chrono::milliseconds answer = std::chrono::milliseconds(200));

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

  // What other nodes changed since the last call (this node's own changes are not reported).
  // `complete` false: some may be missing (a new connection, or more than
  // pg_sync::max_kept_notices): the caller checks everything it holds. Throws pg_error while
  // PostgreSQL cannot be reached; the reconnection then reports an incomplete list.
  struct changes_t {
    bool complete = true;
    std::vector<room_change> list;
  };
  changes_t changes();

 private:
  bool exists(const char* sql, std::string_view room, std::string_view user);
  pg_sync db_;
};

}  // namespace duplex::chat
