// redis_store's bus: which channels this node listens to on each shard (a room's while it has a
// member here, a user's while it has a session here), presence and typing on a room's channel,
// and what comes in on them.
#include <algorithm>
#include <cstdio>

#include "conversations.hpp"
#include "redis_keys.hpp"
#include "redis_reply.hpp"
#include "redis_store.hpp"
#include "wire.hpp"

namespace duplex::chat {

using namespace redis_keys;

namespace {

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

// The first member here subscribes this node to the room's channel, the last one's leaving
// unsubscribes it: a node with nobody in a room receives none of its bytes.
void redis_store::set_presence(const std::string& room, const std::string& nick, bool present) {
  const std::string entry = node_ + ":" + nick;
  shard& s = at(room);
  watched_.insert(room);
  if (present) {
    auto& here = local_[room];
    if (here.empty()) s.feed.listen(feed_channel(room), true);
    here.insert(nick);
    s.commands.command({"ZADD", members_key(room), std::to_string(wall_ms() + ttl_.count()), entry},
                       nullptr);
  } else {
    if (auto it = local_.find(room); it != local_.end()) {
      it->second.erase(nick);
      if (it->second.empty()) {
        local_.erase(it);
        s.feed.listen(feed_channel(room), false);
      }
    }
    s.commands.command({"ZREM", members_key(room), entry}, nullptr);
  }
  s.commands.command({"PUBLISH", feed_channel(room),
                      wire::encode(wire::node_presence{room, nick, present, node_})},
                     nullptr);
}

void redis_store::remote_members(const std::string& room,
                                 std::function<void(bool, std::vector<std::string>)> done) {
  const std::string mine = node_ + ":";
  const bool sent = at(room).commands.command(
      {"ZRANGEBYSCORE", members_key(room), std::to_string(wall_ms()), "+inf"},
      [done, mine](const redisReply* r) {
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
        std::vector<std::string> nicks;
        for (std::size_t i = 0; i < r->elements; ++i) {
          const std::string entry(text_of(r->element[i]));
          const auto sep = entry.find(':');
          if (sep == std::string::npos || entry.compare(0, mine.size(), mine) == 0) continue;
          nicks.push_back(entry.substr(sep + 1));
        }
        done(true, std::move(nicks));
      });
  if (!sent) done(false, {});
}

// Throttled by the hub; fire and forget, as a typing event may be lost.
void redis_store::typing(const std::string& room, const std::string& nick,
                         const std::string& user) {
  at(room).commands.command(
      {"PUBLISH", feed_channel(room), wire::encode({room, nick, false, node_, true, user})},
      nullptr);
}

void redis_store::watch_user(const std::string& user, bool on) {
  at(user).feed.listen(user_channel(user), on);
  if (!on) run_waiting_loads(user);
}

bool redis_store::hears(std::string_view room) const {
  return shards_[map_.of(room)]->feed.listening(feed_channel(room));
}

bool redis_store::hears_user(std::string_view user) const {
  return shards_[map_.of(user)]->feed.listening(user_channel(user));
}

// Every third of the ttl: this node's entries live on, and everyone's expired ones go.
void redis_store::refresh_presence() {
  const std::int64_t now = wall_ms();
  for (const auto& [room, nicks] : local_) {
    std::vector<std::string> argv{"EVAL",
                                  refresh_script,
                                  "2",
                                  members_key(room),
                                  feed_channel(room),
                                  std::to_string(now + ttl_.count()),
                                  room,
                                  node_};
    argv.insert(argv.end(), nicks.begin(), nicks.end());
    at(room).commands.command(argv, nullptr);
  }
  for (const auto& room : watched_)
    at(room).commands.command({"EVAL", sweep_script, "2", members_key(room), feed_channel(room),
                               std::to_string(now), room},
                              [this, room](const redisReply* r) {
                                // Empty everywhere and nobody here: the set of swept rooms
                                // shrinks again, or it would hold every room ever named.
                                if (!is_error(r) && r->type == REDIS_REPLY_INTEGER &&
                                    r->integer == 0 && !local_.contains(room))
                                  watched_.erase(room);
                              });
}

// A room's channel carries its messages and, with an "event" key (which no message has),
// its presence and typing; a user's carries messages only.
void redis_store::on_bus(std::string_view channel, std::string_view payload) {
  if (!channel.starts_with(feed_prefix) && !channel.starts_with(user_prefix)) return;
  // A JSON key is `"event":` quoted and followed by a colon, which a string value cannot hold
  // unescaped: only presence and typing match.
  if (channel.starts_with(feed_prefix) && payload.find("\"event\":") != std::string_view::npos)
    return on_room_event(payload);
  if (const auto m = wire::parse_feed_message(payload)) report_message(*m);
}

void redis_store::on_room_event(std::string_view payload) {
  const auto p = wire::parse_node_presence(payload);
  if (!p || p->node == node_) return;
  if (p->typing) return report_typing(p->room, p->nick, p->user);
  watched_.insert(p->room);
  report_presence(p->room, p->nick, p->joined);
}

// Listening from now on: whatever the channel carried before is read back from the store.
void redis_store::on_subscribed(const std::string& channel) {
  if (channel.starts_with(feed_prefix)) {
    const std::string feed = channel.substr(feed_prefix.size());
    return report_resync_feeds([&feed](const std::string& f) { return f == feed; });
  }
  if (channel.starts_with(user_prefix)) {
    const std::string user = channel.substr(user_prefix.size());
    run_waiting_loads(user);
    report_resync_feeds([&user](const std::string& f) {
      const auto users = conversations::members(f);
      return users && (users->first == user || users->second == user);
    });
  }
}

}  // namespace duplex::chat
