// redis_store's names in Redis and its Lua scripts. Every key and channel of a feed carries the
// feed's name and lives on the feed's shard; a user's, on the user's shard (shard_map.hpp).
#pragma once

#include <string>
#include <string_view>

namespace duplex::chat::redis_keys {

// A shard's own list of the rooms it holds: rooms() merges the shards' lists.
inline constexpr std::string_view rooms_key = "duplex-chat:rooms";

inline std::string seq_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":seq";
}
inline std::string log_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":log";
}
// A sorted set of "<node>:<nick>" scored by the time (ms) the entry expires.
inline std::string members_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":members";
}
inline std::string fold_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":fold";
}
inline std::string fold_order_key(std::string_view room) {
  return "duplex-chat:room:" + std::string(room) + ":fold-order";
}
// An author's client ids in one feed: a hash cid -> id, and the list of its fields, newest
// first, that bounds it (store::max_sent_cids). Per feed, so that the append script touches
// keys of the feed's shard only.
inline std::string sent_key(std::string_view feed, std::string_view author) {
  return "duplex-chat:room:" + std::string(feed) + ":sent:" + std::string(author);
}
inline std::string sent_order_key(std::string_view feed, std::string_view author) {
  return "duplex-chat:room:" + std::string(feed) + ":sent-order:" + std::string(author);
}

// A user's conversations (other user's key -> {"name", "feed"}) and read marks (feed -> id).
inline std::string conversations_key(std::string_view user) {
  return "duplex-chat:user:" + std::string(user) + ":conversations";
}
inline std::string marks_key(std::string_view user) {
  return "duplex-chat:user:" + std::string(user) + ":read";
}

// A room's channel: its messages, its presence and its typing, listened to by the nodes with a
// member in it. A user's: the messages of its conversations, by the nodes it has a session on.
// A node's own: subscribed for good, so that a subscriber link never falls to no channel.
inline std::string feed_channel(std::string_view feed) {
  return "duplex-chat:feed:" + std::string(feed);
}
inline std::string user_channel(std::string_view user) {
  return "duplex-chat:inbox:" + std::string(user);
}
inline std::string node_channel(std::string_view node) {
  return "duplex-chat:node:" + std::string(node);
}
inline constexpr std::string_view feed_prefix = "duplex-chat:feed:";
inline constexpr std::string_view user_prefix = "duplex-chat:inbox:";

// Marks only move forward, whichever node writes last; a first one may be 0 (an empty room).
inline constexpr const char* read_mark_script = R"lua(
local now = redis.call('HGET', KEYS[1], ARGV[1])
if not now or tonumber(ARGV[2]) > tonumber(now) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
)lua";

// Renews this node's entries; one that had expired (the node was paused past the ttl) is
// announced again, so other nodes list the member again.
inline constexpr const char* refresh_script = R"lua(
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
inline constexpr const char* sweep_script = R"lua(
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

// One atomic step per message, on the feed's shard, so that ids, stream order and publish order
// agree on every node: the next id, the stream entry under that id, the room's name in its
// shard's list, and the fan-out on the feed's channel (KEYS[4]; a conversation's goes to its
// users' channels instead, after the script: ARGV[14] is 0). With a cid (ARGV[6], not empty)
// a cid stored already by the same author in the same feed (KEYS[5], bounded by KEYS[6])
// answers its first id instead, whichever node stored it. An event (ARGV[9]: edit, delete, react,
// unreact) is also folded into its target's state in KEYS[7] (field: the target id; {text, author,
// edited, r}, `r` the reactions as message_fold.cpp encodes them), by the rules of
// message_fold.hpp, so that reads give messages as they are now; KEYS[8] orders those states by id,
// and the oldest go past keep_per_room, as the stream's entries do. Returns {id, 1 if a duplicate}.
inline constexpr const char* append_script = R"lua(
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
if ARGV[14] == '1' then
  redis.call('PUBLISH', KEYS[4], cjson.encode({room = ARGV[1], id = id, nick = ARGV[2],
                                               text = ARGV[3], ts = tonumber(ARGV[4]),
                                               cid = ARGV[7], kind = ARGV[9],
                                               ref = tonumber(ARGV[10])}))
end
return {id, 0}
)lua";

}  // namespace duplex::chat::redis_keys
