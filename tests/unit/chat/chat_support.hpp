// A hub wired to a real SQLite store in a temporary file, with sessions that record what they
// were sent, for tests of the chat's rules without sockets.
#pragma once

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/hub.hpp"
#include "src/sqlite_store.hpp"

namespace duplex::chat::test {

using json = nlohmann::json;

struct recording_session final : session {
  std::vector<json> got;
  std::vector<bool> droppable;
  int close_code = 0;
  bool refuse_droppable = false;
  bool send(std::string_view text, bool drop) override {
    if (drop && refuse_droppable) return false;
    got.push_back(json::parse(text));
    droppable.push_back(drop);
    return true;
  }
  void close(ws::close_code code, std::string_view) override { close_code = ws::to_int(code); }
  // Messages of a type, in order.
  std::vector<json> of(const std::string& type) const {
    std::vector<json> out;
    for (const auto& j : got)
      if (j["type"] == type) out.push_back(j);
    return out;
  }
  json last() const { return got.empty() ? json() : got.back(); }
};

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
    hub_ = std::make_unique<hub>(*store_, limits, [this] { return now_ms; });
    // The feed of stored messages passes through lose_from_feed, as a lost Redis subscription
    // would lose them; the history in SQLite keeps everything.
    store_->on_message = [this, real = store_->on_message](const stored_message& m) {
      if (!lose_from_feed || !lose_from_feed(m)) real(m);
    };
  }

  std::function<bool(const stored_message&)> lose_from_feed;

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
  user connect() {
    sessions_.push_back(std::make_unique<recording_session>());
    return {hub_->attach(*sessions_.back()), sessions_.back().get()};
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

  hub& the_hub() { return *hub_; }
  sqlite_store& the_store() { return *store_; }
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
  std::filesystem::path dir_;
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::unique_ptr<recording_session>> sessions_;
  std::unique_ptr<sqlite_store> store_;
  std::unique_ptr<hub> hub_;
};

}  // namespace duplex::chat::test
