// History and fan-out in Redis, shared by several duplex-chat nodes: one id sequence and one
// stream per room, written by a Lua script that also publishes each message to every node.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "redis_link.hpp"
#include "store.hpp"

namespace duplex::chat {

class redis_store final : public store {
 public:
  // Loop thread only, like everything else here. `keep_per_room`: older entries are trimmed.
  // `presence_ttl`: how long a member outlives the last refresh of its node (every third of it).
  redis_store(net::event_loop& loop, redis_options opts, std::int64_t keep_per_room = 10'000,
              std::chrono::milliseconds presence_ttl = std::chrono::seconds(15));
  ~redis_store() override;

  void start();
  bool connected() const noexcept { return commands_.connected() && feed_.connected(); }
  // Connections made again after a first one, over both links.
  std::uint64_t reconnects() const noexcept { return commands_.reconnects() + feed_.reconnects(); }

  void last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) override;
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override;
  // The cid is looked up and recorded inside the append's script: one answer on every node.
  void append_once(stored_message m, std::function<void(append_result)> done) override;
  void before(std::string_view room, std::int64_t before_id, std::size_t limit,
              read_done done) override;
  void range(std::string_view room, std::int64_t after_id, std::int64_t up_to, std::size_t limit,
             read_done done) override;
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override;
  // Events are folded into their message's state by the append script.
  bool keeps_events() const noexcept override { return true; }
  void set_presence(const std::string& room, const std::string& nick, bool present) override;
  void remote_members(const std::string& room,
                      std::function<void(bool, std::vector<std::string>)> done) override;
  // Conversations and read marks: a hash of each per user (redis_store.cpp's last section).
  void load_user(std::string_view user, std::function<void(bool, user_record)> done) override;
  void add_conversation(const std::string& feed, const std::string& a, const std::string& a_name,
                        const std::string& b, const std::string& b_name) override;
  void set_read(const std::string& user, const std::string& feed, std::int64_t id) override;

  // The bus alone, for a store that keeps ids and history elsewhere (pg_store): `m`, stored and
  // numbered already, goes to every node's on_message. False when Redis did not take it.
  bool publish(const stored_message& m);

  // Rooms whose presence this node sweeps: those with a member anywhere that it heard of.
  std::size_t watched_rooms() const noexcept { return watched_.size(); }
  static constexpr std::size_t max_listed_rooms = 1'000;  // names rooms() returns

 private:
  void on_feed(std::string_view payload);
  void on_presence_feed(std::string_view payload);
  void refresh_presence();
  void load_last_ids(std::shared_ptr<user_record> rec, std::string user,
                     std::function<void(bool, user_record)> done);
  void load_marks(std::shared_ptr<user_record> rec, std::string user,
                  std::function<void(bool, user_record)> done);
  void read_stream(std::vector<std::string> argv, std::string room, bool reverse, read_done done);
  void fold_in(const std::string& room, std::vector<stored_message> out, read_done done);

  net::event_loop& loop_;
  redis_link commands_;
  redis_link feed_;
  std::int64_t keep_;
  std::chrono::milliseconds ttl_;
  net::timer_id refresher_ = 0;
  std::string node_;                                    // this process's id in presence entries
  std::map<std::string, std::set<std::string>> local_;  // room -> this node's members
  std::set<std::string> watched_;  // rooms whose expired members this node sweeps
};

}  // namespace duplex::chat
