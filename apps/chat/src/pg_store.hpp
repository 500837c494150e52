// History in PostgreSQL, the system of record of a multi-node deployment: ids, messages,
// conversations and read marks there; Redis (a redis_store used as the bus only) carries each
// stored message and presence to the other nodes.
#pragma once

#include <map>
#include <string>

#include "pg_link.hpp"
#include "redis_store.hpp"
#include "store.hpp"

namespace duplex::chat {

// Loop thread only. An append is acknowledged once its transaction committed, and its id comes
// from the feed's counter row raised in that same statement: ids are dense per feed and never
// reused, whatever Redis forgets. Reads never touch Redis.
class pg_store final : public store, private store_listener {
 public:
  // `redis`: the bus's shards (redis_store.hpp), the same list on every node.
  pg_store(net::event_loop& loop, pg_options pg, std::vector<redis_options> redis,
           std::chrono::milliseconds presence_ttl = std::chrono::seconds(15));
  pg_store(net::event_loop& loop, pg_options pg, redis_options redis,
           std::chrono::milliseconds presence_ttl = std::chrono::seconds(15))
      : pg_store(loop, std::move(pg), std::vector<redis_options>{std::move(redis)}, presence_ttl) {}

  void start();
  bool connected() const noexcept { return db_.connected() && bus_.connected(); }
  // Each link apart, for the node's metrics.
  const pg_link& db() const noexcept { return db_; }
  const redis_store& bus() const noexcept { return bus_; }

  void last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) override;
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override;
  // Every cid is kept (a column of the message), not only the author's last max_sent_cids.
  void append_once(stored_message m, std::function<void(append_result)> done) override;
  void before(std::string_view room, std::int64_t before_id, std::size_t limit,
              read_done done) override;
  void range(std::string_view room, std::int64_t after_id, std::int64_t up_to, std::size_t limit,
             read_done done) override;
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override;
  // Events are folded into their message by the statement that stores them.
  bool keeps_events() const noexcept override { return true; }
  void erase(std::string_view room, std::int64_t id, std::function<void(bool, bool)> done) override;
  void set_presence(const std::string& room, const std::string& nick, bool present) override;
  void remote_members(const std::string& room,
                      std::function<void(bool, std::vector<std::string>)> done) override;
  void load_user(std::string_view user, std::function<void(bool, user_record)> done) override;
  void add_conversation(const std::string& feed, const std::string& a, const std::string& a_name,
                        const std::string& b, const std::string& b_name) override;
  void set_read(const std::string& user, const std::string& feed, std::int64_t id) override;
  void typing(const std::string& room, const std::string& nick, const std::string& user) override {
    bus_.typing(room, nick, user);
  }
  void watch_user(const std::string& user, bool on) override { bus_.watch_user(user, on); }
  // Whether the bus brings this node the room's messages now (redis_store::hears).
  bool hears(std::string_view room) const { return bus_.hears(room); }
  // The bus's traffic per shard (redis_store::traffic).
  std::vector<shard_traffic> traffic() const { return bus_.traffic(); }

  // Feeds whose last message Redis did not take, to announce again when it is back.
  std::size_t unannounced() const noexcept { return unannounced_.size(); }
  static constexpr std::size_t max_unannounced = 10'000;

 private:
  // What the bus reports: other nodes' messages and presence, and its own losses.
  void on_message(const stored_message& m) override { report_message(m); }
  void on_resync() override;
  void on_resync_feeds(const std::function<bool(const std::string&)>& pick) override;
  void on_presence(const std::string& room, const std::string& nick, bool joined) override {
    report_presence(room, nick, joined);
  }
  void on_remote_typing(const std::string& room, const std::string& nick,
                        const std::string& user) override {
    report_typing(room, nick, user);
  }
  void load_user_now(const std::string& key, std::function<void(bool, user_record)> done);
  void announce(const stored_message& m);
  void find_once(const stored_message& m, std::function<void(append_result)> done);
  void read(std::string sql, std::vector<std::string> params, std::string room, bool reverse,
            read_done done);

  pg_link db_;
  redis_store bus_;
  // Feed -> its newest message that Redis refused (down, or too slow). One is enough: another
  // node that hears it sees the gap before it and reads the rest from PostgreSQL.
  std::map<std::string, stored_message> unannounced_;
};

}  // namespace duplex::chat
