// The chat's rules, without sockets: identities, rooms, ids, presence, history, resume and
// rate limits, speaking the JSON protocol of docs/chat-protocol.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "duplex/ws/close_code.hpp"
#include "store.hpp"

namespace duplex::chat {

// The hub's view of one connection; the server implements it on a WebSocket.
class session {
 public:
  virtual ~session() = default;
  // `droppable`: may be skipped when the peer reads slowly (typing indicators). Returns false
  // when the message was not queued.
  virtual bool send(std::string_view json, bool droppable) = 0;
  virtual void close(ws::close_code code, std::string_view reason) = 0;
};

// 4000: the nickname's session went to a newer connection.
inline constexpr ws::close_code close_replaced = ws::application_code(0);

struct hub_limits {
  std::size_t max_text_bytes = 4096;
  std::size_t max_rooms_per_client = 16;
  std::size_t max_members_per_room = 1000;
  std::size_t max_rooms = 10'000;  // rooms held in memory by one node
  std::size_t history_page = 100;  // most messages per history request
  std::size_t join_history = 50;   // sent with a fresh join
  std::size_t max_resume = 500;    // more missed than this: "resume_too_old"
  std::size_t max_ref_chars = 64;  // a say's ref, in characters
  double rate_per_second = 5;      // token bucket refill
  double burst = 20;               // token bucket size; a debt of `burst` closes (1008)
  std::int64_t typing_interval_ms = 2000;
};

struct hub_counters {
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t dropped = 0;       // droppable events skipped for slow readers
  std::uint64_t rate_limited = 0;  // requests refused by the token bucket
  std::uint64_t errors = 0;        // error replies of any kind
};

class hub {
 public:
  using clock = std::function<std::int64_t()>;  // milliseconds since the epoch

  explicit hub(store& s, hub_limits limits = {}, clock now = {});
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  std::uint64_t attach(session& s);
  void detach(std::uint64_t client);
  void receive(std::uint64_t client, std::string_view text);
  // A binary frame: refused with "text_only", at the cost of a request of the rate limit.
  void receive_binary(std::uint64_t client);

  const hub_counters& counters() const noexcept { return counters_; }
  std::size_t clients() const noexcept { return clients_.size(); }
  // Rooms held in memory: each has a member here or work under way.
  std::size_t rooms() const noexcept { return rooms_.size(); }

 private:
  struct client {
    std::uint64_t id = 0;
    session* s = nullptr;
    bool closing = false;  // the hub closed it: whatever still arrives is ignored
    std::string nick;      // empty until a valid hello
    std::string token;
    std::set<std::string> rooms;
    double tokens = 0;
    std::int64_t refilled_ms = 0;
    std::map<std::string, std::int64_t> typed_ms;  // last typing event per room
    // Rooms whose join history is being read: what the room says meanwhile waits here, so
    // that the history comes first. `serial` tells the store's answers for an earlier join of
    // the same room (a leave and a join again before they came) from this one's.
    struct sync {
      std::uint64_t serial = 0;
      std::vector<std::string> held;
      std::vector<std::string> acks;  // after the history and the held messages
    };
    std::map<std::string, sync, std::less<>> syncing;
    std::uint64_t joins = 0;
  };
  struct pending_ack {
    std::uint64_t sender;
    std::string ref;
  };
  struct room {
    std::string name;
    std::uint64_t serial = 0;   // tells a store answer for an earlier room of the same name
    std::size_t appending = 0;  // appends handed to the store whose answer has not come yet
    std::size_t pins = 0;       // frames of the hub holding a reference to it: not freed
    std::set<std::uint64_t> members;
    bool ready = false;                           // delivered_id is known
    bool filling = false;                         // a range() read is filling a gap
    std::int64_t delivered_id = 0;                // last id broadcast on this node
    std::map<std::int64_t, stored_message> held;  // arrived past a gap, or before ready
    std::map<std::int64_t, pending_ack> acks;     // stored, acknowledged once broadcast here
    std::vector<std::pair<std::uint64_t, std::int64_t>> waiting;  // joins (client, since)
  };
  struct request;

  void dispatch(client& c, const request& r);
  void on_hello(client& c, const request& r);
  void on_join(client& c, const request& r);
  void on_room_open(const std::string& name, std::uint64_t serial, bool ok, std::int64_t last_id);
  room* live_room(const std::string& name, std::uint64_t serial);
  void release_if_unused(const std::string& name);
  void complete_join(client& c, room& rm, std::int64_t since);
  void on_leave(client& c, const request& r);
  void on_say(client& c, const request& r);
  void on_stored(std::uint64_t sender, const std::string& room_name, const std::string& ref,
                 bool ok, std::int64_t id);
  void on_store_message(const stored_message& m);
  void on_resync();
  void deliver(room& rm, const stored_message& m);
  void drain_held(room& rm);
  void fill(room& rm, std::int64_t up_to);
  void release_acks(room& rm);
  void send_ack(client& c, const std::string& room_name, const std::string& ref, std::int64_t id);
  void on_typing(client& c, const request& r);
  void on_private(client& c, const request& r);
  void on_history(client& c, const request& r);
  void on_rooms(client& c);
  void send_join_history(client& c, const std::string& name, std::uint64_t serial,
                         std::int64_t since, std::int64_t up_to);
  void on_remote_presence(const std::string& room_name, const std::string& nick, bool joined);
  void finish_sync(std::uint64_t client_id, const std::string& room_name, std::uint64_t serial,
                   const std::string& reply);
  // `name` by value: callers pass elements of c.rooms, which this erases.
  void leave_room(client& c, std::string name, bool tell_self);
  bool take_token(client& c);
  room* joined_room(client& c, const request& r);
  room* room_named(const std::string& name);
  client* find_client(std::uint64_t id);
  void send(client& c, const std::string& json, bool droppable = false);
  void error(client& c, std::string_view code, std::string_view message,
             std::string_view room_name = {});
  void broadcast(const room& rm, const std::string& json, std::uint64_t except = 0,
                 bool droppable = false);

  store& store_;
  hub_limits limits_;
  clock now_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_room_serial_ = 1;
  bool opening_ = false;      // inside room_named's call to the store
  bool open_failed_ = false;  // ... which answered at once that it failed
  std::unordered_map<std::uint64_t, client> clients_;
  std::map<std::string, room> rooms_;
  std::unordered_map<std::string, std::uint64_t> nicks_;  // folded nick -> client
  hub_counters counters_;
};

// Nicknames: 1 to 32 printable characters, no control, invisible or bidi-override characters,
// no space at either end. Rooms: 1 to 32 of [a-z0-9_-] (letters are folded to lower case).
bool valid_nick(std::string_view nick);
std::string fold_nick(std::string_view nick);
bool valid_room(std::string_view room);
std::string fold_room(std::string_view room);

}  // namespace duplex::chat
