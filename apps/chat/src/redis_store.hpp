// History and fan-out in Redis, shared by several duplex-chat nodes and spread over one or more
// independent Redis servers (shards): each feed's id sequence, stream and channel live on the
// shard its name hashes to, written by a Lua script that also publishes the message there.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "redis_link.hpp"
#include "shard_map.hpp"
#include "store.hpp"

namespace duplex::chat {

// What one shard's subscriber link has received: the bus bytes a node pays for its rooms.
struct shard_traffic {
  std::string shard;  // "host:port"
  bool connected = false;
  std::size_t channels = 0;  // subscribed, this node's own channel included
  std::uint64_t messages_received = 0;
  std::uint64_t bytes_received = 0;  // channel names and payloads, without Redis's framing
};

class redis_store final : public store {
 public:
  // Loop thread only, like everything else here. `shards`: one or more independent Redis
  // servers; every node must list the same ones (in any order). `keep_per_room`: older entries
  // are trimmed. `presence_ttl`: how long a member outlives the last refresh of its node.
  redis_store(net::event_loop& loop, std::vector<redis_options> shards,
              std::int64_t keep_per_room = 10'000,
              std::chrono::milliseconds presence_ttl = std::chrono::seconds(15));
  redis_store(net::event_loop& loop, redis_options one, std::int64_t keep_per_room = 10'000,
              std::chrono::milliseconds presence_ttl = std::chrono::seconds(15))
      : redis_store(loop, std::vector<redis_options>{std::move(one)}, keep_per_room, presence_ttl) {
  }
  ~redis_store() override;

  void start();
  // Every shard, both links.
  bool connected() const noexcept;
  // Connections made again after a first one, over every shard's links.
  std::uint64_t reconnects() const noexcept;

  void last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) override;
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override;
  // The cid is looked up and recorded inside the append's script: one answer on every node.
  void append_once(stored_message m, std::function<void(append_result)> done) override;
  void before(std::string_view room, std::int64_t before_id, std::size_t limit,
              read_done done) override;
  void range(std::string_view room, std::int64_t after_id, std::int64_t up_to, std::size_t limit,
             read_done done) override;
  // The shards' lists merged; a shard that is down leaves its rooms out (false: all are down).
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override;
  // Events are folded into their message's state by the append script.
  bool keeps_events() const noexcept override { return true; }
  // Also what this node listens to: a room's channel while it has a member here.
  void set_presence(const std::string& room, const std::string& nick, bool present) override;
  void remote_members(const std::string& room,
                      std::function<void(bool, std::vector<std::string>)> done) override;
  void typing(const std::string& room, const std::string& nick, const std::string& user) override;
  void watch_user(const std::string& user, bool on) override;
  // Conversations and read marks: a hash of each per user, on the user's shard.
  void load_user(std::string_view user, std::function<void(bool, user_record)> done) override;
  void add_conversation(const std::string& feed, const std::string& a, const std::string& a_name,
                        const std::string& b, const std::string& b_name) override;
  void set_read(const std::string& user, const std::string& feed, std::int64_t id) override;

  // The bus alone, for a store that keeps ids and history elsewhere (pg_store): `m`, stored and
  // numbered already, goes to the nodes that listen to its feed (a conversation: to its two
  // users). False when Redis did not take it.
  bool publish(const stored_message& m);

  // Rooms whose presence this node sweeps: those with a member anywhere that it heard of.
  std::size_t watched_rooms() const noexcept { return watched_.size(); }
  static constexpr std::size_t max_listed_rooms = 1'000;  // names rooms() returns
  // Per shard, in the order given: for /metrics, and for the tests that check a node hears
  // only its rooms. Nothing is logged per message.
  std::vector<shard_traffic> traffic() const;
  // Whether this node receives the feed's channel now (Redis confirmed the subscription).
  bool hears(std::string_view room) const;
  bool hears_user(std::string_view user) const;
  // Runs `then` once this node hears the user's channel (at once when it does, or when the
  // subscription is not wanted or cannot be made now): a read of the user's state made then
  // misses nothing that the channel carries later (pg_store reads PostgreSQL so).
  void when_hearing_user(const std::string& user, std::function<void()> then);
  // Which shard (an index into the order given) holds a feed's or a user's keys.
  std::size_t shard_of(std::string_view name) const noexcept { return map_.of(name); }

 private:
  struct shard {
    shard(net::event_loop& loop, const redis_options& o)
        : id(o.host + ":" + std::to_string(o.port)), commands(loop, o), feed(loop, o) {}
    std::string id;
    redis_link commands;
    redis_link feed;  // the subscriber
  };
  shard& at(std::string_view name) { return *shards_[map_.of(name)]; }
  bool on_shard(const std::string& feed, std::size_t i) const;

  void on_bus(std::string_view channel, std::string_view payload);
  void on_subscribed(const std::string& channel);
  void on_room_event(std::string_view payload);
  void refresh_presence();
  bool publish_dm(const std::string& feed, const std::string& payload);
  void load_user_now(const std::string& user, std::function<void(bool, user_record)> done);
  void run_waiting_loads(const std::string& user);
  void load_last_ids(std::shared_ptr<user_record> rec, std::string user,
                     std::function<void(bool, user_record)> done);
  void load_marks(std::shared_ptr<user_record> rec, std::string user,
                  std::function<void(bool, user_record)> done);
  void read_stream(std::vector<std::string> argv, std::string room, bool reverse, read_done done);
  void fold_in(const std::string& room, std::vector<stored_message> out, read_done done);

  net::event_loop& loop_;
  shard_map map_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::int64_t keep_;
  std::chrono::milliseconds ttl_;
  net::timer_id refresher_ = 0;
  std::string node_;                                    // this process's id in presence entries
  std::map<std::string, std::set<std::string>> local_;  // room -> this node's members
  std::set<std::string> watched_;  // rooms whose expired members this node sweeps
  // User -> loads waiting for its channel's subscription: what they read is then all that a
  // node that does not listen yet could have missed.
  std::map<std::string, std::vector<std::function<void()>>> waiting_loads_;
};

// "redis://host:port[,redis://host:port...]": one shard per URL; throws std::invalid_argument
// on a bad one or a shard listed twice.
std::vector<redis_options> parse_redis_urls(const std::string& urls);

}  // namespace duplex::chat
