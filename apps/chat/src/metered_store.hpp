// A store that counts its appends, failed or not, and how long each took to be acknowledged,
// in the node's metrics; everything else passes through to the store it wraps.
#pragma once

#include "metrics.hpp"
#include "store.hpp"

namespace duplex::chat {

// Loop thread only, like the stores. It becomes the listener of `inner` and passes on what
// `inner` reports to its own listener (the hub). Every virtual of store and store_listener
// must pass through here: a default left in place silently drops that feature (the typing and
// private traffic of a sharded bus were lost so; MeteredStore.PassesEverythingOn checks).
class metered_store final : public store, private store_listener {
 public:
  metered_store(store& inner, metrics::registry& m);
  ~metered_store() override;

  void last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) override {
    inner_.last_id(room, std::move(done));
  }
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override;
  void append_once(stored_message m, std::function<void(append_result)> done) override;
  void before(std::string_view room, std::int64_t before_id, std::size_t limit,
              read_done done) override {
    inner_.before(room, before_id, limit, std::move(done));
  }
  void range(std::string_view room, std::int64_t after_id, std::int64_t up_to, std::size_t limit,
             read_done done) override {
    inner_.range(room, after_id, up_to, limit, std::move(done));
  }
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override {
    inner_.rooms(std::move(done));
  }
  bool keeps_events() const noexcept override { return inner_.keeps_events(); }
  void erase(std::string_view room, std::int64_t id,
             std::function<void(bool, bool)> done) override {
    inner_.erase(room, id, std::move(done));
  }
  void set_presence(const std::string& room, const std::string& nick, bool present) override {
    inner_.set_presence(room, nick, present);
  }
  void typing(const std::string& room, const std::string& nick, const std::string& user) override {
    inner_.typing(room, nick, user);
  }
  void watch_user(const std::string& user, bool on) override { inner_.watch_user(user, on); }
  void remote_members(const std::string& room,
                      std::function<void(bool, std::vector<std::string>)> done) override {
    inner_.remote_members(room, std::move(done));
  }
  void load_user(std::string_view user, std::function<void(bool, user_record)> done) override {
    inner_.load_user(user, std::move(done));
  }
  void add_conversation(const std::string& feed, const std::string& a, const std::string& a_name,
                        const std::string& b, const std::string& b_name) override {
    inner_.add_conversation(feed, a, a_name, b, b_name);
  }
  void set_read(const std::string& user, const std::string& feed, std::int64_t id) override {
    inner_.set_read(user, feed, id);
  }

 private:
  void on_message(const stored_message& m) override { report_message(m); }
  void on_resync() override { report_resync(); }
  void on_presence(const std::string& room, const std::string& nick, bool joined) override {
    report_presence(room, nick, joined);
  }
  void on_resync_feeds(const std::function<bool(const std::string&)>& pick) override {
    report_resync_feeds(pick);
  }
  void on_remote_typing(const std::string& room, const std::string& nick,
                        const std::string& user) override {
    report_typing(room, nick, user);
  }
  // Counts one answer, given when its append started (steady clock, nanoseconds).
  void done_one(bool ok, std::int64_t started_ns);

  store& inner_;
  std::uint64_t& ok_;
  std::uint64_t& failed_;
  metrics::histogram& latency_;
};

}  // namespace duplex::chat
