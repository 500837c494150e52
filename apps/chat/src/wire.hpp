// The chat's JSON, in one place: what clients send and are sent (docs/chat-protocol.md) and
// what nodes publish to each other through Redis. Nothing here throws on any input.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store.hpp"

namespace duplex::chat {

// Serializes a message for a client or for Redis. Never throws: bytes that are not UTF-8 (which
// no rule of the hub lets in, but a store or a bug might) come out as U+FFFD, because one bad
// field must cost one odd character, not the event loop.
std::string to_wire(const nlohmann::json& j);

// Fields of a parsed object, of the expected kind or else the default: a peer (or another node)
// that sends the wrong kind gets ignored, where json::value() would throw.
std::string text_field(const nlohmann::json& j, const char* key);
// An integer field; a float is truncated, anything else gives `fallback`.
std::int64_t int_field(const nlohmann::json& j, const char* key, std::int64_t fallback = 0);

// The number of code points in valid UTF-8 (the WebSocket layer validated every text frame).
std::size_t code_points(std::string_view utf8) noexcept;
// Why a message's text (valid UTF-8) is refused, as an error code, or "" when it may be sent:
// "empty_text" for nothing, or nothing but spaces and line breaks; "invalid_text" for a
// control character other than tab and line break (a NUL, an escape), which shows as nothing
// or as a box.
std::string_view text_refusal(std::string_view text) noexcept;

namespace wire {

// A guest's name, as the hub, the stores and the nodes carry it: `~` and the name. No sign-in
// name contains `~` (the username profile refuses symbols), so the mark cannot be forged by a
// registered user and survives history and Redis; on the wire it becomes `guest: true`.
std::string guest_name(std::string_view nick);
// The name to show and whether it is a guest's, from the carried form.
struct shown_name {
  std::string_view nick;
  bool guest = false;
};
shown_name shown(std::string_view carried) noexcept;

// A message's formatting as `md` (markdown.hpp), when its text has any: every message, dm and
// history entry goes through here, rendered as it is serialized (once per broadcast).
void put_formatting(nlohmann::json& entry, std::string_view text);

// One request of a client: a JSON object whose fields are read by kind.
class request {
 public:
  // Empty when the text is not one JSON object.
  static std::optional<request> parse(std::string_view text);

  std::string type() const { return str("type"); }
  // A string field, or empty when absent or of another kind.
  std::string str(const char* key) const { return text_field(body_, key); }
  // A non-negative integer field, or -1 when absent, negative or of another kind.
  std::int64_t natural(const char* key) const;
  // True when the field is the JSON `true`.
  bool flag(const char* key) const;

 private:
  explicit request(nlohmann::json body) : body_(std::move(body)) {}
  nlohmann::json body_;
};

// ----- server to client, one function per message type
// Every name given here is in its carried form (see guest_name): a guest's comes out as the
// name and `guest: true` (`members` lists every name, `guests` those of guests).

// A guest's welcome (a signed-in user's is below, with its conversations).
// `max_text_bytes` (when not 0): the longest text a say or dm may carry, for the page's counter.
std::string welcome(std::string_view nick, std::string_view token, std::size_t max_text_bytes = 0);
// A signed-in user's read state in a feed: sent with a join and with each conversation.
struct read_state {
  std::int64_t last_read = 0;
  std::int64_t unread = 0;
};
// `online`: the members with a session open now (members are also those who are away).
std::string joined(std::string_view room, const std::vector<std::string>& members,
                   std::int64_t last_id, std::optional<read_state> read = std::nullopt,
                   const std::vector<std::string>* online = nullptr);
// The history sent with a join; `resume` after a join with `since`. `start`: nothing older is
// stored, so the page can say where the room begins instead of offering more.
std::string join_history(std::string_view room, const std::vector<stored_message>& messages,
                         bool resume, bool start = false);
// A page asked for with `history`.
std::string history_page(std::string_view room, const std::vector<stored_message>& messages,
                         std::int64_t before, bool start = false);
// With the sender's `cid` when it gave one: its pages recognise their own sends by it. An
// event (an edit, deletion or reaction) is a `message` with its `kind` and `target`.
std::string message(const stored_message& m);
// A message's attachment (stored_message::file), as `file`, when it has one.
void put_file(nlohmann::json& out, const stored_message& m);
// What an entry adds to its JSON beyond id, nick, text, ts and cid (wire_edits.cpp): an
// event's kind, target and emoji; a message's reply_to, edit time, tombstone and reactions.
void put_fold(nlohmann::json& out, const stored_message& m);
// A client id as a say may carry it: 1 to max_chars of A-Z a-z 0-9 _ -.
bool valid_cid(std::string_view cid, std::size_t max_chars) noexcept;
std::string presence(std::string_view room, std::string_view nick, bool joined);
// A member's first session came (online) or its last went (offline): no join or leave.
std::string status(std::string_view room, std::string_view nick, bool online);
std::string typing(std::string_view room, std::string_view nick);
std::string left(std::string_view room);
// `cid`: the say's client id, when it gave one (a resend of a stored one included).
std::string ack(std::string_view ref, std::string_view room, std::int64_t id,
                std::string_view cid = {});
// Rooms with their member counts.
std::string room_list(const std::vector<std::pair<std::string, std::size_t>>& rooms);
// `room` empty: an error about no room in particular.
// `cid`: the refused say's client id, when it gave a valid one.
std::string error(std::string_view code, std::string_view message, std::string_view room = {},
                  std::string_view cid = {});

// ----- server to client: private conversations and read marks (wire_private.cpp). A
// conversation is named by the other user's name (`with`), as each side sees it.

struct conversation_summary {
  std::string with;
  std::int64_t last_id = 0;
  read_state read;
};
// The welcome of a signed-in user, with its conversations and its stored rooms (`rooms`, which
// the page joins again without a "joined" line).
std::string welcome(std::string_view nick, std::string_view token,
                    const std::vector<conversation_summary>& conversations,
                    const std::vector<std::string>& rooms, std::size_t max_text_bytes = 0);
std::string conversation_list(const std::vector<conversation_summary>& conversations);
// The answer to opening a conversation: its latest messages, or those after `since`.
std::string conversation(const conversation_summary& c, const std::vector<stored_message>& messages,
                         bool resume, bool start = false);
std::string conversation_page(std::string_view with, const std::vector<stored_message>& messages,
                              std::int64_t before, bool start = false);
std::string dm(std::string_view with, const stored_message& m);
std::string dm_ack(std::string_view ref, std::string_view with, std::int64_t id,
                   std::string_view cid = {});
// `field`: "room" or "with".
std::string read_mark(std::string_view field, std::string_view feed, std::int64_t id);
std::string dm_error(std::string_view code, std::string_view message, std::string_view with,
                     std::string_view cid = {});

// ----- between nodes, through Redis
// Redis's Lua scripts (redis_store.cpp) write these too, with cjson, because the id or the
// expiry is only known inside the script: the parsers here read both writers.

// A stored message as the append script publishes it; empty when malformed.
std::optional<stored_message> parse_feed_message(std::string_view payload);

// A member of `node` joined or left `room`, or (`typing`) types in it; `user` is the typist's
// key, so that none of its own sessions is told.
struct node_presence {
  std::string room;
  std::string nick;
  bool joined = false;
  std::string node;
  bool typing = false;
  std::string user{};
};
std::string encode(const node_presence& p);
// Empty when malformed or without a room or a nick.
std::optional<node_presence> parse_node_presence(std::string_view payload);

}  // namespace wire
}  // namespace duplex::chat
