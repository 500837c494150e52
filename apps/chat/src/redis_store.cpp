#include "redis_store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "message_fold.hpp"
#include "token.hpp"
#include "wire.hpp"

namespace duplex::chat {
namespace {

constexpr std::string_view feed_channel = "duplex-chat:messages";
constexpr std::string_view presence_channel = "duplex-chat:presence";
constexpr std::string_view rooms_key = "duplex-chat:rooms";

std::string seq_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":seq";
}
std::string log_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":log";
}
// A sorted set of "<node>:<nick>" scored by the time (ms) the entry expires.
std::string members_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":members";
}

// A user's conversations (other user's key -> {"name", "feed"}) and read marks (feed -> id).
std::string conversations_key(std::string_view user) {
  return "duplex-chat:user:" + std::string(user) + ":conversations";
}
std::string marks_key(std::string_view user) {
  return "duplex-chat:user:" + std::string(user) + ":read";
}

// Marks only move forward, whichever node writes last; a first one may be 0 (an empty room).
constexpr const char* read_mark_script = R"lua(
local now = redis.call('HGET', KEYS[1], ARGV[1])
if not now or tonumber(ARGV[2]) > tonumber(now) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
)lua";

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Renews this node's entries; one that had expired (the node was paused past the ttl) is
// announced again, so other nodes list the member again.
constexpr const char* refresh_script = R"lua(
for i = 4, #ARGV do
  if redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3] .. ':' .. ARGV[i]) == 1 then
    redis.call('PUBLISH', KEYS[2], cjson.encode({room = ARGV[2], event = 'join',
      node = ARGV[3], nick = ARGV[i]}))
  end
end
return 0
)lua";

// Entries past their expiry are removed and announced once: ZREM succeeds for one caller only,
// so however many nodes sweep the same room, each departure is published a single time.
// Returns the entries left, so that a node stops sweeping a room nobody is in.
constexpr const char* sweep_script = R"lua(
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, entry in ipairs(gone) do
  if redis.call('ZREM', KEYS[1], entry) == 1 then
    local sep = string.find(entry, ':', 1, true)
    redis.call('PUBLISH', KEYS[2], cjson.encode({room = ARGV[2], event = 'leave',
      node = string.sub(entry, 1, sep - 1), nick = string.sub(entry, sep + 1)}))
  end
end
return redis.call('ZCARD', KEYS[1])
)lua";

// An author's client ids: a hash "<feed>\n<cid>" -> id, and the list of its fields, newest
// first, that bounds it (store::max_sent_cids).
std::string sent_key(std::string_view author) {
  return "duplex-chat:user:" + std::string(author) + ":sent";
}
std::string sent_order_key(std::string_view author) {
  return "duplex-chat:user:" + std::string(author) + ":sent-order";
}

std::string fold_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":fold";
}
std::string fold_order_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":fold-order";
}

// One atomic step per message, so that ids, stream order and publish order agree on every
// node: the next id, the stream entry under that id, the room's name, and the fan-out. With a
// cid (ARGV[6] the sent field, not empty) a cid stored already answers its first id instead,
// whichever node stored it. An event (ARGV[9]: edit, delete, react, unreact) is also folded
// into its target's state in KEYS[7] (field: the target id; {text, author, edited, r}, `r` the
// reactions as message_fold.cpp encodes them), by the rules of message_fold.hpp, so that
// reads give messages as they are now; KEYS[8] orders those states by id, and the oldest go
// past keep_per_room, as the stream's entries do. Returns {id, 1 if a duplicate}.
constexpr const char* append_script = R"lua(
if ARGV[6] ~= '' then
  local seen = redis.call('HGET', KEYS[5], ARGV[6])
  if seen then return {tonumber(seen), 1} end
end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], id .. '-0',
           'nick', ARGV[2], 'text', ARGV[3], 'ts', ARGV[4], 'cid', ARGV[7],
           'kind', ARGV[9], 'ref', ARGV[10], 'author', ARGV[11])
if string.sub(ARGV[1], 1, 1) ~= '@' then redis.call('SADD', KEYS[3], ARGV[1]) end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[6], id)
  redis.call('LPUSH', KEYS[6], ARGV[6])
  while redis.call('LLEN', KEYS[6]) > tonumber(ARGV[8]) do
    redis.call('HDEL', KEYS[5], redis.call('RPOP', KEYS[6]))
  end
end
local kind, target = ARGV[9], ARGV[10]
if kind == 'edit' or kind == 'delete' or kind == 'react' or kind == 'unreact' then
  local st = redis.call('HGET', KEYS[7], target)
  if st then st = cjson.decode(st) else
    local e = redis.call('XRANGE', KEYS[2], target .. '-0', target .. '-0')
    if #e == 1 then
      local f = {}
      for i = 1, #e[1][2], 2 do f[e[1][2][i]] = e[1][2][i + 1] end
      if (f.kind or '') == '' then st = {text = f.text, author = f.author or '', edited = 0, r = {}} end
    end
  end
  if st and st.text ~= '' then
    local own = st.author ~= '' and st.author == ARGV[11]
    if kind == 'edit' and own then st.text = ARGV[3]; st.edited = tonumber(ARGV[4])
    elseif kind == 'delete' and own then st.text = ''; st.r = {}; st.edited = tonumber(ARGV[4])
    elseif kind == 'react' or kind == 'unreact' then
      local found
      for i, x in ipairs(st.r) do if x[1] == ARGV[3] then found = i end end
      if kind == 'react' and not found then
        if #st.r < tonumber(ARGV[12]) then table.insert(st.r, {ARGV[3], {ARGV[2]}}) end
      elseif found then
        local ns, at = st.r[found][2], nil
        for i, n in ipairs(ns) do if n == ARGV[2] then at = i end end
        if kind == 'react' and not at and #ns < tonumber(ARGV[13]) then table.insert(ns, ARGV[2]) end
        if kind == 'unreact' and at then table.remove(ns, at) end
        if #ns == 0 then table.remove(st.r, found) end
      end
    end
    redis.call('HSET', KEYS[7], target, cjson.encode(st))
    redis.call('ZADD', KEYS[8], target, target)
    local extra = redis.call('ZCARD', KEYS[8]) - tonumber(ARGV[5])
    if extra > 0 then
      for _, old in ipairs(redis.call('ZRANGE', KEYS[8], 0, extra - 1)) do
        redis.call('HDEL', KEYS[7], old)
      end
      redis.call('ZREMRANGEBYRANK', KEYS[8], 0, extra - 1)
    end
  end
end
redis.call('PUBLISH', KEYS[4], cjson.encode({room = ARGV[1], id = id, nick = ARGV[2],
                                             text = ARGV[3], ts = tonumber(ARGV[4]),
                                             cid = ARGV[7], kind = ARGV[9],
                                             ref = tonumber(ARGV[10])}))
return {id, 0}
)lua";

// A number Redis sent as text; 0 for anything else (no std::stoll: nothing here may throw).
std::int64_t to_int(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

bool is_error(const redisReply* r) {
  return r == nullptr || r->type == REDIS_REPLY_ERROR;
}

std::string_view text_of(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len) : std::string_view{};
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

redis_store::redis_store(net::event_loop& loop, redis_options opts, std::int64_t keep_per_room,
                         std::chrono::milliseconds presence_ttl)
    : loop_(loop),
      commands_(loop, opts),
      feed_(loop, opts),
      keep_(keep_per_room),
      ttl_(presence_ttl),
      node_(random_token(6)) {
  feed_.on_state = [this](bool up) {
    // Whatever was published while the feed was down is read back from the streams.
    if (up) report_resync();
  };
  commands_.on_state = [this](bool up) {
    std::fprintf(stderr, "duplex-chat: redis %s\n", up ? "connected" : "lost; reconnecting");
    // Reads that failed while it was down (a gap being filled) are retried by a resync.
    if (up) report_resync();
  };
}

redis_store::~redis_store() {
  if (refresher_ != 0) loop_.cancel_timer(refresher_);
}

void redis_store::start() {
  feed_.subscribe({std::string(feed_channel), std::string(presence_channel)},
                  [this](std::string_view channel, std::string_view payload) {
                    if (channel == presence_channel) return on_presence_feed(payload);
                    on_feed(payload);
                  });
  commands_.start();
  feed_.start();
  refresher_ = loop_.add_timer(
      std::max(ttl_ / 3, std::chrono::milliseconds(1)), [this] { refresh_presence(); }, true);
}

void redis_store::set_presence(const std::string& room, const std::string& nick, bool present) {
  const std::string entry = node_ + ":" + nick;
  watched_.insert(room);
  if (present) {
    local_[room].insert(nick);
    commands_.command({"ZADD", members_key(room), std::to_string(wall_ms() + ttl_.count()), entry},
                      nullptr);
  } else {
    if (auto it = local_.find(room); it != local_.end()) {
      it->second.erase(nick);
      if (it->second.empty()) local_.erase(it);
    }
    commands_.command({"ZREM", members_key(room), entry}, nullptr);
  }
  commands_.command(
      {"PUBLISH", std::string(presence_channel), wire::encode({room, nick, present, node_})},
      nullptr);
}

void redis_store::remote_members(const std::string& room,
                                 std::function<void(bool, std::vector<std::string>)> done) {
  const std::string mine = node_ + ":";
  const bool sent = commands_.command(
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

// Every third of the ttl: this node's entries live on, and everyone's expired ones go.
void redis_store::refresh_presence() {
  const std::int64_t now = wall_ms();
  for (const auto& [room, nicks] : local_) {
    std::vector<std::string> argv{"EVAL",
                                  refresh_script,
                                  "2",
                                  members_key(room),
                                  std::string(presence_channel),
                                  std::to_string(now + ttl_.count()),
                                  room,
                                  node_};
    argv.insert(argv.end(), nicks.begin(), nicks.end());
    commands_.command(argv, nullptr);
  }
  for (const auto& room : watched_)
    commands_.command({"EVAL", sweep_script, "2", members_key(room), std::string(presence_channel),
                       std::to_string(now), room},
                      [this, room](const redisReply* r) {
                        // Empty everywhere and nobody here: the set of swept rooms shrinks
                        // again, or it would hold every room ever named, swept forever.
                        if (!is_error(r) && r->type == REDIS_REPLY_INTEGER && r->integer == 0 &&
                            !local_.contains(room))
                          watched_.erase(room);
                      });
}

void redis_store::on_presence_feed(std::string_view payload) {
  const auto p = wire::parse_node_presence(payload);
  if (!p || p->node == node_) return;
  watched_.insert(p->room);
  report_presence(p->room, p->nick, p->joined);
}

void redis_store::on_feed(std::string_view payload) {
  const auto m = wire::parse_feed_message(payload);
  if (m) report_message(*m);
}

void redis_store::last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) {
  const bool sent = commands_.command({"GET", seq_key(room)}, [done](const redisReply* r) {
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
  std::vector<std::string> argv{"EVAL",
                                append_script,
                                "8",
                                seq_key(m.room),
                                log_key(m.room),
                                std::string(rooms_key),
                                std::string(feed_channel),
                                sent_key(m.author),
                                sent_order_key(m.author),
                                fold_key(m.room),
                                fold_order_key(m.room),
                                m.room,
                                m.nick,
                                m.text,
                                std::to_string(m.ts_ms),
                                std::to_string(keep_),
                                m.cid.empty() ? std::string() : m.room + '\n' + m.cid,
                                m.cid,
                                std::to_string(max_sent_cids),
                                m.kind,
                                std::to_string(m.ref_id),
                                m.author,
                                std::to_string(fold::max_reactions),
                                std::to_string(fold::max_reactors)};
  const bool sent = commands_.command(argv, [done](const redisReply* r) {
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER)
      return done({false, 0, false});
    done({true, r->element[0]->integer, r->element[1]->integer == 1});
  });
  if (!sent) done({false, 0, false});
}

bool redis_store::publish(const stored_message& m) {
  nlohmann::json j{
      {"room", m.room}, {"id", m.id}, {"nick", m.nick}, {"text", m.text}, {"ts", m.ts_ms}};
  if (!m.kind.empty()) j["kind"] = m.kind;
  if (m.ref_id != 0) j["ref"] = m.ref_id;
  const std::string payload = to_wire(j);
  return commands_.command({"PUBLISH", std::string(feed_channel), payload}, nullptr);
}

void redis_store::read_stream(std::vector<std::string> argv, std::string room, bool reverse,
                              read_done done) {
  const bool sent = commands_.command(argv, [this, room, reverse, done](const redisReply* r) {
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
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!fold::is_event(out[i])) {
      argv.push_back(std::to_string(out[i].id));
      at.push_back(i);
    }
  if (at.empty()) return done(true, std::move(out));
  auto msgs = std::make_shared<std::vector<stored_message>>(std::move(out));
  const bool sent = commands_.command(argv, [msgs, at, done](const redisReply* r) {
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
    for (std::size_t i = 0; i < r->elements && i < at.size(); ++i)
      if (r->element[i]->type == REDIS_REPLY_STRING)
        overlay((*msgs)[at[i]], text_of(r->element[i]));
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

void redis_store::rooms(std::function<void(bool, std::vector<std::string>)> done) {
  const bool sent =
      commands_.command({"SMEMBERS", std::string(rooms_key)}, [done](const redisReply* r) {
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
        std::vector<std::string> names;
        for (std::size_t i = 0; i < r->elements; ++i)
          names.emplace_back(text_of(r->element[i]));
        std::sort(names.begin(), names.end());
        if (names.size() > max_listed_rooms) names.resize(max_listed_rooms);  // a list to read
        done(true, std::move(names));
      });
  if (!sent) done(false, {});
}

// ----- Private conversations and read marks (issue 11, items 5 and 7)

void redis_store::add_conversation(const std::string& feed, const std::string& a,
                                   const std::string& a_name, const std::string& b,
                                   const std::string& b_name) {
  auto entry = [&](const std::string& name) { return to_wire({{"name", name}, {"feed", feed}}); };
  commands_.command({"HSET", conversations_key(a), b, entry(b_name)}, nullptr);
  commands_.command({"HSET", conversations_key(b), a, entry(a_name)}, nullptr);
}

void redis_store::set_read(const std::string& user, const std::string& feed, std::int64_t id) {
  commands_.command({"EVAL", read_mark_script, "1", marks_key(user), feed, std::to_string(id)},
                    nullptr);
}

// Three reads in turn: the conversations, their last ids, the read marks.
void redis_store::load_user(std::string_view user, std::function<void(bool, user_record)> done) {
  auto rec = std::make_shared<user_record>();
  const bool sent =
      commands_.command({"HGETALL", conversations_key(user)},
                        [this, rec, user = std::string(user), done](const redisReply* r) {
                          if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
                          for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
                            if (rec->conversations.size() >= max_listed_conversations) break;
                            const nlohmann::json j =
                                nlohmann::json::parse(text_of(r->element[i + 1]), nullptr, false);
                            conversation_entry e{std::string(text_of(r->element[i])),
                                                 text_field(j, "name"), text_field(j, "feed"), 0};
                            if (!e.feed.empty()) rec->conversations.push_back(std::move(e));
                          }
                          load_last_ids(rec, user, done);
                        });
  if (!sent) done(false, {});
}

void redis_store::load_last_ids(std::shared_ptr<user_record> rec, std::string user,
                                std::function<void(bool, user_record)> done) {
  if (rec->conversations.empty()) return load_marks(rec, std::move(user), std::move(done));
  std::vector<std::string> argv{"MGET"};
  for (const auto& c : rec->conversations)
    argv.push_back(seq_key(c.feed));
  const bool sent = commands_.command(argv, [this, rec, user, done](const redisReply* r) {
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
    for (std::size_t i = 0; i < r->elements && i < rec->conversations.size(); ++i)
      rec->conversations[i].last_id = to_int(text_of(r->element[i]));
    load_marks(rec, user, done);
  });
  if (!sent) done(false, {});
}

void redis_store::load_marks(std::shared_ptr<user_record> rec, std::string user,
                             std::function<void(bool, user_record)> done) {
  const bool sent =
      commands_.command({"HGETALL", marks_key(user)}, [rec, done](const redisReply* r) {
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY) return done(false, {});
        for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
          if (rec->read_marks.size() >= max_listed_marks) break;
          rec->read_marks.emplace_back(std::string(text_of(r->element[i])),
                                       to_int(text_of(r->element[i + 1])));
        }
        done(true, std::move(*rec));
      });
  if (!sent) done(false, {});
}

}  // namespace duplex::chat
