// One Redis connection driven by a duplex event loop through hiredis's async API: commands with
// callbacks, pub/sub, and reconnection with exponential backoff when Redis goes away.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "duplex/net/event_loop.hpp"

struct redisAsyncContext;
struct redisReply;

namespace duplex::chat {

struct redis_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

// Parses "redis://host:port" (port defaults to 6379); throws std::invalid_argument otherwise.
redis_options parse_redis_url(const std::string& url);

// Loop thread only. Commands sent while disconnected, or while max_in_flight answers are still
// owed (a Redis too slow for the load), are refused at once (command() returns false), so
// callers report an error instead of queueing without bound.
class redis_link final : public net::io_handler {
 public:
  // `reply` is null when the connection was lost before the answer came. Replies still owed
  // when the link is destroyed are dropped without a call.
  using reply_fn = std::function<void(const redisReply* reply)>;
  // A message on a subscribed channel: channel, payload.
  using message_fn = std::function<void(std::string_view channel, std::string_view payload)>;

  redis_link(net::event_loop& loop, redis_options opts);
  ~redis_link();
  redis_link(const redis_link&) = delete;
  redis_link& operator=(const redis_link&) = delete;

  // Starts connecting; reconnects by itself from then on.
  void start();
  bool connected() const noexcept { return connected_; }
  // Connections made again after the first one (for the node's metrics).
  std::uint64_t reconnects() const noexcept { return connections_ > 0 ? connections_ - 1 : 0; }
  static constexpr std::size_t max_in_flight = 100'000;
  std::size_t in_flight() const noexcept { return in_flight_; }
  bool command(const std::vector<std::string>& argv, reply_fn reply);
  // Turns this link into a subscriber: channels are (re)subscribed on every connection. Keep
  // at least one for good: hiredis 0.14 asserts on a subscription reply that comes after its
  // count fell to zero, which join/leave traffic could otherwise cause.
  void subscribe(std::vector<std::string> channels, message_fn on_message);
  // A subscriber's channels that come and go (a room with members here). One SUBSCRIBE or
  // UNSUBSCRIBE per channel is in flight at a time; a change meanwhile is applied once its
  // answer came, so a quick leave and join never leave the channel unheard.
  void listen(const std::string& channel, bool on);
  // Wanted, and Redis confirmed the subscription.
  bool listening(std::string_view channel) const;
  bool wants(std::string_view channel) const;
  // Channels subscribed or being subscribed, the permanent ones included.
  std::size_t channels() const noexcept { return subs_.size(); }

  // Called with true on every (re)connection and false on every loss.
  std::function<void(bool up)> on_state;
  // Redis confirmed a subscription to `channel` (again after a reconnection): whatever was
  // published before may have been missed.
  std::function<void(const std::string& channel)> on_subscribed;

  // What came in on the subscription since the start: messages, and their channel and payload
  // bytes (Redis's framing not counted).
  std::uint64_t messages_received() const noexcept { return messages_received_; }
  std::uint64_t bytes_received() const noexcept { return bytes_received_; }

  void on_io(net::io_events events) override;

 private:
  template <class F>
  void guard(F&& f) noexcept;
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_pubsub(redisAsyncContext* ac, void* reply, void* privdata);
  static void add_read(void* self);
  static void del_read(void* self);
  static void add_write(void* self);
  static void del_write(void* self);
  static void cleanup(void* self);

  void connect();
  void lost();
  void watch(net::io_events events);
  void send_subscribe();
  void send_sub(const char* verb, const std::vector<std::string>& channels);
  void reconcile(const std::string& channel);
  void on_sub_reply(std::string_view kind, const std::string& channel);

  net::event_loop& loop_;
  redis_options opts_;
  redisAsyncContext* ac_ = nullptr;
  int fd_ = -1;
  net::io_events events_ = net::io_events::none;  // what the loop watches for fd_
  bool connected_ = false;
  std::uint64_t connections_ = 0;
  bool stopping_ = false;
  std::size_t in_flight_ = 0;  // commands whose reply callback has not run yet
  std::chrono::milliseconds backoff_;
  net::timer_id retry_ = 0;
  enum class sub : std::uint8_t { off, asking, on, leaving };
  struct sub_state {
    bool wanted = false;
    sub live = sub::off;
  };
  std::map<std::string, sub_state, std::less<>> subs_;
  message_fn on_message_;
  std::uint64_t messages_received_ = 0;
  std::uint64_t bytes_received_ = 0;
};

}  // namespace duplex::chat
