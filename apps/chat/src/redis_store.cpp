#include "redis_store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "conversations.hpp"
#include "message_fold.hpp"
#include "redis_keys.hpp"
#include "redis_reply.hpp"
#include "token.hpp"
#include "wire.hpp"

namespace duplex::chat {

using namespace redis_keys;

namespace {

std::vector<std::string> ids_of(const std::vector<redis_options>& shards) {
  if (shards.empty()) throw std::invalid_argument("redis_store needs at least one Redis server");
  std::vector<std::string> ids;
  for (const auto& o : shards) {
    std::string id = o.host + ":" + std::to_string(o.port);
    if (std::find(ids.begin(), ids.end(), id) != ids.end())
      throw std::invalid_argument("Redis server listed twice: " + id);
    ids.push_back(std::move(id));
  }
  return ids;
}

// A stream entry ["<id>-0", [field, value, ...]] as a message of `room`.
bool parse_entry(const redisReply* e, const std::string& room, stored_message& out) {
  if (e == nullptr || e->type != REDIS_REPLY_ARRAY || e->elements != 2) return false;
  const std::string_view id = text_of(e->element[0]);
  const redisReply* fields = e->element[1];
  if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY) return false;
  out = stored_message{room, to_int(id.substr(0, id.find('-'))), {}, {}, 0};
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    const auto key = text_of(fields->element[i]);
    const auto value = text_of(fields->element[i + 1]);
    if (key == "nick") out.nick = value;
    if (key == "text") out.text = value;
    if (key == "ts") out.ts_ms = to_int(value);
    if (key == "cid") out.cid = value;
    if (key == "kind") out.kind = value;
    if (key == "ref") out.ref_id = to_int(value);
    if (key == "author") out.author = value;
  }
  return true;
}

// A message's folded state (the append script's) over what its stream entry says.
void overlay(stored_message& m, std::string_view state) {
  const nlohmann::json j = nlohmann::json::parse(state, nullptr, false);
  if (!j.is_object()) return;
  m.text = text_field(j, "text");
  m.edited_ms = int_field(j, "edited");
  auto r = j.find("r");
  m.reactions =
      r != j.end() && r->is_array() ? fold::decode_reactions(to_wire(*r)) : std::vector<reaction>{};
}

}  // namespace

std::vector<redis_options> parse_redis_urls(const std::string& urls) {
  std::vector<redis_options> out;
  std::size_t from = 0;
  while (from <= urls.size()) {
    const auto comma = std::min(urls.find(',', from), urls.size());
    out.push_back(parse_redis_url(urls.substr(from, comma - from)));
    from = comma + 1;
  }
  ids_of(out);  // a shard listed twice is refused here, before anything starts
  return out;
}

redis_store::redis_store(net::event_loop& loop, std::vector<redis_options> shards,
                         std::int64_t keep_per_room, std::chrono::milliseconds presence_ttl)
    : loop_(loop),
      map_(ids_of(shards)),
      keep_(keep_per_room),
      ttl_(presence_ttl),
      node_(random_token(6)) {
  for (std::size_t i = 0; i < shards.size(); ++i) {
    auto& s = *shards_.emplace_back(std::make_unique<shard>(loop, shards[i]));
    // A channel (re)subscribed: what was published before is read back from the streams.
    s.feed.on_subscribed = [this](const std::string& channel) { on_subscribed(channel); };
    // Its subscriptions wait for the next connection: loads that waited for one go ahead.
    s.feed.on_state = [this, i](bool up) {
      if (up) return;
      std::vector<std::string> users;
      for (const auto& [user, loads] : waiting_loads_)
        if (map_.of(user) == i) users.push_back(user);
      for (const auto& user : users)
        run_waiting_loads(user);
    };
    s.commands.on_state = [this, i](bool up) {
      std::fprintf(stderr, "duplex-chat: redis %s %s\n", shards_[i]->id.c_str(),
                   up ? "connected" : "lost; reconnecting");
      // Reads that failed while it was down (a gap being filled) are retried by a resync of
      // this shard's feeds only: the others' went on meanwhile.
      if (up) report_resync_feeds([this, i](const std::string& feed) { return on_shard(feed, i); });
    };
  }
}

redis_store::~redis_store() {
  if (refresher_ != 0) loop_.cancel_timer(refresher_);
}

void redis_store::start() {
  for (auto& s : shards_) {
    s->feed.subscribe(
        {node_channel(node_)},
        [this](std::string_view channel, std::string_view payload) { on_bus(channel, payload); });
    s->commands.start();
    s->feed.start();
  }
  refresher_ = loop_.add_timer(
      std::max(ttl_ / 3, std::chrono::milliseconds(1)), [this] { refresh_presence(); }, true);
}

bool redis_store::connected() const noexcept {
  return std::all_of(shards_.begin(), shards_.end(),
                     [](const auto& s) { return s->commands.connected() && s->feed.connected(); });
}

std::uint64_t redis_store::reconnects() const noexcept {
  std::uint64_t n = 0;
  for (const auto& s : shards_)
    n += s->commands.reconnects() + s->feed.reconnects();
  return n;
}

std::vector<shard_traffic> redis_store::traffic() const {
  std::vector<shard_traffic> out;
  for (const auto& s : shards_)
    out.push_back({s->id, s->commands.connected() && s->feed.connected(), s->feed.channels(),
                   s->feed.messages_received(), s->feed.bytes_received()});
  return out;
}

// A feed is read on its shard; a conversation's messages also reach nodes through its users'.
bool redis_store::on_shard(const std::string& feed, std::size_t i) const {
  if (map_.of(feed) == i) return true;
  const auto users = conversations::members(feed);
  return users && (map_.of(users->first) == i || map_.of(users->second) == i);
}

void redis_store::last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) {
  const bool sent = at(room).commands.command({"GET", seq_key(room)}, [done](const redisReply* r) {
    if (is_error(r)) return done(false, 0);
    done(true, r->type == REDIS_REPLY_STRING ? to_int(text_of(r)) : 0);
  });
  if (!sent) done(false, 0);
}

void redis_store::append(stored_message m, std::function<void(bool, std::int64_t)> done) {
  m.cid.clear();  // no client id: stored whatever was stored before
  append_once(std::move(m),
              [done = std::move(done)](append_result a) { done(a.ok, a.ok ? a.id : 0); });
}

void redis_store::append_once(stored_message m, std::function<void(append_result)> done) {
  const bool dm = conversations::is_conversation(m.room);
  std::vector<std::string> argv{"EVAL",
                                append_script,
                                "8",
                                seq_key(m.room),
                                log_key(m.room),
                                std::string(rooms_key),
                                feed_channel(m.room),
                                sent_key(m.room, m.author),
                                sent_order_key(m.room, m.author),
                                fold_key(m.room),
                                fold_order_key(m.room),
                                m.room,
                                m.nick,
                                m.text,
                                std::to_string(m.ts_ms),
                                std::to_string(keep_),
                                m.cid,
                                m.cid,
                                std::to_string(max_sent_cids),
                                m.kind,
                                std::to_string(m.ref_id),
                                m.author,
                                std::to_string(fold::max_reactions),
                                std::to_string(fold::max_reactors),
                                dm ? "0" : "1"};
  // Kept for a conversation's publish only: a room's message is not copied on its way.
  auto kept = dm ? std::make_shared<stored_message>(m) : nullptr;
  auto answer = [this, kept, done](const redisReply* r) {
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER)
      return done({false, 0, false});
    const append_result a{true, r->element[0]->integer, r->element[1]->integer == 1};
    // A conversation's message goes to its users' channels, on their shards: after the append,
    // not inside it. A lost publish is a gap that the next message or a resync reads back.
    if (kept && !a.duplicate) {
      kept->id = a.id;
      publish(*kept);
    }
    done(a);
  };
  if (!at(m.room).commands.command(argv, std::move(answer))) done({false, 0, false});
}

namespace {
// As the append script publishes it.
std::string bus_payload(const stored_message& m) {
  nlohmann::json j{
      {"room", m.room}, {"id", m.id}, {"nick", m.nick}, {"text", m.text}, {"ts", m.ts_ms}};
  if (!m.cid.empty()) j["cid"] = m.cid;
  if (!m.kind.empty()) j["kind"] = m.kind;
  if (m.ref_id != 0) j["ref"] = m.ref_id;
  // The attachment (PostgreSQL mode: files are shared), as wire::parse_feed_message reads it.
  if (!m.file.empty()) {
    auto file = nlohmann::json::parse(m.file, nullptr, false);
    if (file.is_object()) j["file"] = std::move(file);
  }
  return to_wire(j);
}
}  // namespace

bool redis_store::publish(const stored_message& m) {
  const std::string payload = bus_payload(m);
  if (conversations::is_conversation(m.room)) return publish_dm(m.room, payload);
  return at(m.room).commands.command({"PUBLISH", feed_channel(m.room), payload}, nullptr);
}

// To both users, each on its own shard: true only when both took it.
bool redis_store::publish_dm(const std::string& feed, const std::string& payload) {
  const auto users = conversations::members(feed);
  if (!users) return false;
  bool ok = true;
  for (const auto* u : {&users->first, &users->second})
    ok = at(*u).commands.command({"PUBLISH", user_channel(*u), payload}, nullptr) && ok;
  return ok;
}

void redis_store::read_stream(std::vector<std::string> argv, std::string room, bool reverse,
                              read_done done) {
  const bool sent =
      at(room).commands.command(argv, [this, room, reverse, done](const redisReply* r) {
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
        std::vector<stored_message> out;
        for (std::size_t i = 0; i < r->elements; ++i) {
          stored_message m;
          if (parse_entry(r->element[i], room, m)) out.push_back(std::move(m));
        }
        if (reverse) std::reverse(out.begin(), out.end());
        fold_in(room, std::move(out), done);
      });
  if (!sent) done(false, {});
}

// The messages' folded states, read after their entries: an event stored in between may be
// in a state and come again in the feed, which changes nothing (message_fold.hpp).
void redis_store::fold_in(const std::string& room, std::vector<stored_message> out,
                          read_done done) {
  std::vector<std::string> argv{"HMGET", fold_key(room)};
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!fold::is_event(out[i])) {
      argv.push_back(std::to_string(out[i].id));
      where.push_back(i);
    }
  if (where.empty()) return done(true, std::move(out));
  auto msgs = std::make_shared<std::vector<stored_message>>(std::move(out));
  const bool sent = at(room).commands.command(argv, [msgs, where, done](const redisReply* r) {
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
    for (std::size_t i = 0; i < r->elements && i < where.size(); ++i)
      if (r->element[i]->type == REDIS_REPLY_STRING)
        overlay((*msgs)[where[i]], text_of(r->element[i]));
    done(true, std::move(*msgs));
  });
  if (!sent) done(false, {});
}

void redis_store::before(std::string_view room, std::int64_t before_id, std::size_t limit,
                         read_done done) {
  if (before_id <= 1 || limit == 0) return done(true, {});
  read_stream({"XREVRANGE", log_key(room), std::to_string(before_id - 1) + "-0", "-", "COUNT",
               std::to_string(limit)},
              std::string(room), true, std::move(done));
}

void redis_store::range(std::string_view room, std::int64_t after_id, std::int64_t up_to,
                        std::size_t limit, read_done done) {
  if (up_to <= after_id || limit == 0) return done(true, {});
  const std::string end = up_to == std::numeric_limits<std::int64_t>::max()
                              ? std::string("+")
                              : std::to_string(up_to) + "-0";
  read_stream({"XRANGE", log_key(room), std::to_string(after_id + 1) + "-0", end, "COUNT",
               std::to_string(limit)},
              std::string(room), false, std::move(done));
}

// Each shard lists its own rooms; one that is down leaves its rooms out of the answer.
void redis_store::rooms(std::function<void(bool, std::vector<std::string>)> done) {
  struct gathering {
    std::size_t owed = 0;
    bool any = false;
    std::set<std::string> names;
    std::function<void(bool, std::vector<std::string>)> done;
  };
  auto g = std::make_shared<gathering>();
  g->owed = shards_.size();
  g->done = std::move(done);
  auto one_more = [g] {
    if (--g->owed != 0) return;
    std::vector<std::string> names(g->names.begin(), g->names.end());     // sorted
    if (names.size() > max_listed_rooms) names.resize(max_listed_rooms);  // a list to read
    g->done(g->any, std::move(names));
  };
  for (auto& s : shards_) {
    const bool sent = s->commands.command({"SMEMBERS", std::string(rooms_key)},
                                          [g, one_more](const redisReply* r) {
                                            if (!is_error(r) && r->type == REDIS_REPLY_ARRAY) {
                                              g->any = true;
                                              for (std::size_t i = 0; i < r->elements; ++i)
                                                g->names.emplace(text_of(r->element[i]));
                                            }
                                            one_more();
                                          });
    if (!sent) one_more();
  }
}

}  // namespace duplex::chat
