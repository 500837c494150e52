// A hub wired to a real SQLite store in a temporary file, with sessions that record what they
// were sent and topics that fan out as the server's do, for tests of the chat's rules without
// sockets.
#pragma once

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "src/hub.hpp"
#include "src/sqlite_store.hpp"

namespace duplex::chat::test {

using json = nlohmann::json;

struct recording_session;

// The server's topics in memory: a publish reaches every subscriber at once, in order with what
// each was sent on its own (as on the hub's loop).
struct recording_topics final : publisher {
  std::map<std::string, std::vector<recording_session*>, std::less<>> subscribers;
  std::vector<std::pair<std::string, json>> published;  // (topic, message), in order
  void publish(std::string_view topic, std::string_view text) override;
};

struct recording_session final : session {
  explicit recording_session(recording_topics& t) : topics(t) {}
  recording_topics& topics;
  std::vector<json> got;
  std::vector<bool> droppable;
  std::set<std::string> subscribed;
  std::size_t from_topics = 0;  // messages that came through a topic
  int close_code = 0;
  bool refuse_droppable = false;
  bool send(std::string_view text, bool drop) override {
    if (drop && refuse_droppable) return false;
    got.push_back(json::parse(text));
    droppable.push_back(drop);
    return true;
  }
  void close(ws::close_code code, std::string_view) override { close_code = ws::to_int(code); }
  void subscribe(std::string_view topic) override {
    if (!subscribed.emplace(topic).second) ADD_FAILURE() << "subscribed twice to " << topic;
    topics.subscribers[std::string(topic)].push_back(this);
  }
  void unsubscribe(std::string_view topic) override {
    if (subscribed.erase(std::string(topic)) == 0)
      ADD_FAILURE() << "unsubscribed from " << topic << " without a subscription";
    auto& subs = topics.subscribers[std::string(topic)];
    std::erase(subs, this);
  }
  void deliver(const json& j) {
    got.push_back(j);
    droppable.push_back(false);
    ++from_topics;
  }
  // Messages of a type, in order.
  std::vector<json> of(const std::string& type) const {
    std::vector<json> out;
    for (const auto& j : got)
      if (j["type"] == type) out.push_back(j);
    return out;
  }
  json last() const { return got.empty() ? json() : got.back(); }
};

inline void recording_topics::publish(std::string_view topic, std::string_view text) {
  const json j = json::parse(text);
  published.emplace_back(std::string(topic), j);
  auto it = subscribers.find(topic);
  if (it == subscribers.end()) return;
  for (recording_session* s : it->second)
    s->deliver(j);
}

// Limits with a rate limit no test hits by accident (the clock stands still in tests).
inline hub_limits relaxed() {
  hub_limits l;
  l.burst = 1e9;
  return l;
}

class chat_fixture {
 public:
  explicit chat_fixture(hub_limits limits = relaxed(), std::int64_t keep = 10'000)
      : dir_(std::filesystem::temp_directory_path() /
             ("duplex-chat-test-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter()++))) {
    std::filesystem::create_directories(dir_);
    open(limits, keep);
  }
  ~chat_fixture() {
    hub_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Closes and reopens hub and store on the same file: a restart.
  void open(hub_limits limits = relaxed(), std::int64_t keep = 10'000) {
    hub_.reset();
    store_.reset();
    store_ = std::make_unique<sqlite_store>((dir_ / "chat.db").string(),
                                            [this](std::function<void()> fn) {
                                              std::lock_guard lock(mutex_);
                                              posted_.push_back(std::move(fn));
                                            },
                                            keep);
    hub_ = std::make_unique<hub>(
        *store_, topics_, limits, [this] { return now_ms; }, rooms_);
    store_->set_listener(&relay_);
  }

  // Messages of the feed for which this is true never reach the hub, as a lost Redis
  // subscription would lose them; the history in SQLite keeps everything.
  std::function<bool(const stored_message&)> lose_from_feed;
  // The store says its feed is back (what a Redis store does when its subscription returns).
  void resync() { relay_.on_resync(); }
  // Another node says its member joined or left (what a Redis store reports from the bus).
  void remote_presence(const std::string& room, const std::string& nick, bool joined) {
    relay_.on_presence(room, nick, joined);
  }
  // A sharded store's part came back, or a channel was just subscribed: these feeds only.
  void resync_feeds(const std::function<bool(const std::string&)>& pick) {
    static_cast<store_listener&>(*hub_).on_resync_feeds(pick);
  }
  // Another node's member types (a sharded bus carries it).
  void remote_typing(const std::string& room, const std::string& nick, const std::string& key) {
    static_cast<store_listener&>(*hub_).on_remote_typing(room, nick, key);
  }

  // Waits for the store's commits and runs their completions, as the loop would.
  void pump() {
    store_->flush();
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(posted_);
    }
    for (auto& fn : batch)
      fn();
  }

  struct user {
    std::uint64_t id;
    recording_session* s;
  };
  // `signed_in`: as if the server had authenticated the connection as that user (`account`:
  // its account key, see hub::attach).
  user connect(const std::string& signed_in = {}, const std::string& account = {}) {
    sessions_.push_back(std::make_unique<recording_session>(topics_));
    return {hub_->attach(*sessions_.back(), signed_in, account), sessions_.back().get()};
  }
  user named(const std::string& nick) {
    auto u = connect();
    send(u, {{"type", "hello"}, {"nick", nick}});
    return u;
  }
  void send(const user& u, const json& j) { hub_->receive(u.id, j.dump()); }
  void say(const user& u, const std::string& room, const std::string& text) {
    send(u, {{"type", "say"}, {"room", room}, {"text", text}});
  }

  // The hub keeps its rooms in `d` from now on (a restart), as nodes sharing one directory do.
  void share_rooms(room_directory& d, hub_limits limits = relaxed()) {
    rooms_ = &d;
    open(limits);
  }
  hub& the_hub() { return *hub_; }
  recording_topics& topics() { return topics_; }
  sqlite_store& the_store() { return *store_; }
  std::string db_path() const { return (dir_ / "chat.db").string(); }
  // The stored messages before an id, read the way the hub reads them.
  std::vector<stored_message> stored_before(const std::string& room, std::int64_t before,
                                            std::size_t limit) {
    std::vector<stored_message> out;
    store_->before(room, before, limit,
                   [&](bool, std::vector<stored_message> got) { out = std::move(got); });
    return out;
  }
  std::int64_t now_ms = 1'700'000'000'000;

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  // Stands between the store and the hub, for lose_from_feed.
  struct relay final : store_listener {
    explicit relay(chat_fixture& f) : fx(f) {}
    store_listener& hub_side() { return *fx.hub_; }
    void on_message(const stored_message& m) override {
      if (!fx.lose_from_feed || !fx.lose_from_feed(m)) hub_side().on_message(m);
    }
    void on_resync() override { hub_side().on_resync(); }
    void on_presence(const std::string& room, const std::string& nick, bool joined) override {
      hub_side().on_presence(room, nick, joined);
    }
    chat_fixture& fx;
  };

  std::filesystem::path dir_;
  relay relay_{*this};
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  recording_topics topics_;
  std::vector<std::unique_ptr<recording_session>> sessions_;
  std::unique_ptr<sqlite_store> store_;
  room_directory* rooms_ = nullptr;  // null: the hub's own
  std::unique_ptr<hub> hub_;
};

}  // namespace duplex::chat::test
