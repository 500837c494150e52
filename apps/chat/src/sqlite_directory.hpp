// The room directory in the chat's SQLite file (tables of schema version 2, schema.cpp): rooms
// with owners and topics, members with roles and mutes, bans and invitations that outlive the
// process. Reads and writes run on the hub's thread: each is a few rows on an index, and a
// commit in WAL mode with synchronous=NORMAL does not wait for the disk.
#pragma once

#include <chrono>
#include <string>

#include "room_directory.hpp"
#include "sql.hpp"

namespace duplex::chat {

class sqlite_directory final : public room_directory {
 public:
  // Opens (or creates) the file and brings its schema to the current version.
  explicit sqlite_directory(const std::string& path,
                            std::chrono::milliseconds busy_timeout = std::chrono::seconds(2));

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
  bool exists(const char* sql, std::string_view room, std::string_view user);
  sql::connection db_;
};

}  // namespace duplex::chat
