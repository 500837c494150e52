// The chat's rules, without sockets: identities, rooms, ids, presence, history, resume and
// rate limits, speaking the JSON protocol of docs/chat-protocol.md. hub.cpp takes requests,
// hub_users.cpp names and users, hub_rooms.cpp joins and leaves, hub_fanout.cpp what reaches a
// room's members, hub_moderation.cpp the directory, owners and moderators; hub_private.cpp
// private conversations, hub_read.cpp read marks, hub_search.cpp search, hub_edits.cpp edits,
// deletions, reactions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub_private.hpp"
#include "names.hpp"
#include "rate_limit.hpp"
#include "room_directory.hpp"
#include "room_feed.hpp"
#include "search.hpp"
#include "session.hpp"
#include "store.hpp"
#include "wire.hpp"
#include "wire_rooms.hpp"

namespace duplex::chat {

struct hub_limits {
  std::size_t max_text_bytes = 4096;
  std::size_t max_rooms_per_user = 16;  // rooms a user (or a guest's connection) is in
  std::size_t max_members_per_room = 1000;
  std::size_t max_rooms = 10'000;  // rooms held in memory by one node
  std::size_t history_page = 100;  // most messages per history request
  std::size_t join_history = 50;   // sent with a fresh join
  std::size_t max_resume = 500;    // more missed than this: "resume_too_old"
  std::size_t max_ref_chars = 64;  // a say's ref, in characters
  std::size_t max_cid_chars = 64;  // a say's client id (wire::valid_cid)
  double rate_per_second = 5;      // token bucket refill
  double burst = 20;               // token bucket size; a debt of `burst` closes (1008)
  // Read marks and typing draw on a bucket of their own: the page sends a mark per live message,
  // and a reader in a busy room must not spend the tokens of its own words on them. Each one
  // replaces the last, so one refused is dropped without an answer.
  double signal_rate_per_second = 20;
  double signal_burst = 40;
  std::int64_t typing_interval_ms = 2000;
  std::size_t max_conversations = 10'000;  // conversations held in memory by one node
  // ----- rooms (hub_moderation.cpp)
  std::size_t max_owned_rooms = 10;  // rooms a user may own
  std::size_t max_topic_bytes = 256;
  std::size_t directory_page = 50;  // rooms in one answer to `rooms`
  std::size_t member_list = 200;    // stored members named in `joined`
  std::int64_t max_mute_seconds = 30 * 24 * 3600;
  // ----- search (hub_search.cpp)
  std::size_t max_query_bytes = 256;
  std::size_t max_query_terms = 16;
  std::size_t search_page = 50;    // results in one answer
  double searches_per_second = 1;  // per session, besides the requests' own bucket
  double search_burst = 5;
  std::size_t around_side = 25;      // messages on each side of an `around` id, by default
  std::size_t max_around_side = 50;  // ... at most
};

struct hub_counters {
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;  // per recipient: a published message counts once for each
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t dropped = 0;       // droppable events skipped for slow readers
  std::uint64_t rate_limited = 0;  // requests refused by the token bucket
  std::uint64_t errors = 0;        // error replies of any kind
};

// The hub listens to its store from construction to destruction.
class hub final : public store_listener {
 public:
  using clock = std::function<std::int64_t()>;  // milliseconds since the epoch

  // `rooms`: where rooms, members and bans are kept; null: in memory, the hub's own.
  hub(store& s, publisher& topics, hub_limits limits = {}, clock now = {},
      room_directory* rooms = nullptr);
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  // `signed_in`: the name of the user the server authenticated this connection as, or empty
  // for a guest, who claims a free name with hello. A signed-in connection is named after its
  // user whatever its hello says, and is one more session of that user: no session of the user
  // closes another, and a guest holding the name (or one like it) is closed with 4002.
  // `account`: what the user is keyed by (its rooms, roles, bans, conversations, read marks),
  // which a change of the name shown does not change: the key of its sign-in name, one per
  // account for good. Empty: names::key(signed_in).
  std::uint64_t attach(session& s, std::string signed_in = {}, std::string account = {});
  // Whether a name a guest proposes belongs to a registered user (its key or its look-alike
  // key): such a name is refused to guests. Without a guard, guests take any free name.
  using name_guard = std::function<bool(const names::result& name)>;
  void guard_names(name_guard registered) { registered_ = std::move(registered); }
  void detach(std::uint64_t client);
  void receive(std::uint64_t client, std::string_view text);
  // A binary frame: refused with "text_only", at the cost of a request of the rate limit.
  void receive_binary(std::uint64_t client);

  const hub_counters& counters() const noexcept { return counters_; }
  std::size_t clients() const noexcept { return clients_.size(); }
  // Users with a name: a guest connection each, or a signed-in user's sessions together.
  std::size_t users() const noexcept { return users_.size(); }
  // Rooms held in memory: each has a member here or work under way.
  std::size_t rooms() const noexcept { return rooms_.size(); }
  // The topic a room's members listen to once their join history is out.
  static std::string topic_of(std::string_view room_name);
  // The topic every session of a user listens to, from its welcome (private messages).
  static std::string user_topic(std::string_view user_key);
  // Conversations held in memory: each has a participant here or work under way.
  std::size_t conversations() const noexcept { return convos_.size(); }
  // Who exists to be written to (see user_directory); set before the first client.
  void set_directory(user_directory d) { directory_ = std::move(d); }
  // Another node changed the shared room directory (pg_directory::changes): the room's row
  // (`user_key` empty) or one user's membership, ban or invitation there. The sessions here
  // follow: a user banned, or signed in and no longer a member, leaves the room; a mute takes
  // effect; with `announce`, the members here get the room's description. False when the
  // directory could not be read: call it again later (directory_follow.hpp queues the calls).
  bool room_changed(const std::string& room_name, const std::string& user_key,
                    bool announce = true);
  // Every (room, user key) held here: what to check when changes may have been missed.
  std::vector<std::pair<std::string, std::string>> directory_holds() const;
  // Where `search` looks (null: nowhere, answered "search_unavailable"); it must outlive the
  // hub's loop. Set before the first client.
  void set_search(message_search* s) noexcept { search_ = s; }
  // Files (uploads.hpp): a say or dm with `file` names an upload; this gives the attachment it
  // makes (the JSON object messages carry) when it is the signed-in user's upload for that feed,
  // or nothing. Unset: no message carries a file (Redis mode without PostgreSQL).
  using attachment_check = std::function<std::optional<std::string>(
      const std::string& user, const std::string& feed, const std::string& file_id)>;
  void set_attachments(attachment_check check) { attachments_ = std::move(check); }

 private:
  struct client {
    std::uint64_t id = 0;
    session* s = nullptr;
    bool closing = false;   // the hub closed it: whatever still arrives is ignored
    std::string signed_in;  // see attach()
    std::string account;    // see attach()
    std::string nick;       // empty until a valid hello
    std::string user;       // the entry in users_: the account's key, or names::key(nick)
    std::string token;      // proves a guest's reconnection (see on_hello)
    std::set<std::string> rooms;
    token_bucket bucket;
    token_bucket signals;  // read marks and typing (hub_limits::signal_rate_per_second)
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
    bool welcomed = false;  // a signed-in session waits for its user's conversations
    std::set<std::string, std::less<>> announce;  // rooms this session really joined (admit)
    std::map<std::string, std::int64_t, std::less<>> muted_until;  // ms, per room
    std::optional<token_bucket> searches;  // from its first search on (hub_search.cpp)
    bool searching = false;                // one search at a time
  };
  // Everyone with a name: one guest connection, or every session of a signed-in user.
  struct user {
    std::string name;       // as shown
    std::string shown_key;  // names::key(name): the entry in shown_keys_
    std::string skeleton;   // names::look_alike_key(name): the entry in look_alikes_
    bool signed_in = false;
    std::vector<std::uint64_t> sessions;
    std::map<std::string, std::size_t, std::less<>> rooms;      // sessions of the user in each
    std::map<std::string, std::int64_t, std::less<>> typed_ms;  // last typing event per room
    private_state priv;                                         // signed-in users only
    token_bucket bucket;  // the rate limit is the user's, whichever session sends
    token_bucket signals;
  };
  struct room {
    std::string name;
    std::string topic;          // topic_of(name)
    std::uint64_t serial = 0;   // tells a store answer for an earlier room of the same name
    std::size_t appending = 0;  // appends handed to the store whose answer has not come yet
    std::size_t pins = 0;       // frames of the hub holding a reference to it: not freed
    std::set<std::uint64_t> members;
    std::size_t people = 0;  // users with a session among the members
    std::size_t guests = 0;  // ... of whom guests (not in the directory's member count)
    // Members whose join history is being read (their messages wait in client::syncing); the
    // others are subscribed to the room's topic.
    std::set<std::uint64_t> syncing;
    room_feed feed;  // what of the store's messages and acks goes out, and when
    std::vector<std::pair<std::uint64_t, std::int64_t>> waiting;  // joins (client, since)
  };
  struct request {
    std::uint64_t id;  // the client's
    wire::request body;
    std::string type;
    std::string str(const char* key) const { return body.str(key); }
    std::int64_t integer(const char* key) const { return body.natural(key); }
  };

  // hub.cpp: requests and replies.
  // `body`: the frame, when it parsed; a refused send with a cid is answered with it.
  bool take_token(client& c, const wire::request* body = nullptr);
  bool take_signal_token(client& c);
  void dispatch(client& c, const request& r);
  client* find_client(std::uint64_t id);
  void send(client& c, const std::string& json, bool droppable = false);
  void error(client& c, std::string_view code, std::string_view message,
             std::string_view room_name = {});

  // hub_users.cpp: names, users and what a user receives.
  void on_hello(client& c, const request& r);
  bool take_over(user& u, const request& r);
  void evict_guest(const std::string& key);
  void name_session(client& c, const names::result& name, const std::string& key, bool signed_in);
  // The key of the user shown under `shown` (a name as clients write it): a user online here,
  // else a registered user (the directory), else names::key(shown). Empty when invalid.
  std::string key_of_name(std::string_view shown) const;
  void drop_session(client& c);
  user* user_of(const client& c);
  void entered(client& c, room& rm);
  // `quiet`: no presence line (a signed-in session closing, or a leave announced by expel).
  void left(client& c, room& rm, bool quiet);
  void publish(const std::string& topic, const std::string& json, std::size_t listeners);

  // hub_rooms.cpp: rooms in memory, joins with their history, leaves.
  void on_join(client& c, const request& r);
  void join(client& c, const std::string& name, std::int64_t since);
  room* room_named(const std::string& name);
  room* live_room(const std::string& name, std::uint64_t serial);
  void on_room_open(const std::string& name, std::uint64_t serial, bool ok, std::int64_t last_id);
  void release_if_unused(const std::string& name);
  void complete_join(client& c, room& rm, std::int64_t since);
  void send_join_history(client& c, const std::string& name, std::uint64_t serial,
                         std::int64_t since, std::int64_t up_to);
  void finish_sync(std::uint64_t client_id, const std::string& room_name, std::uint64_t serial,
                   const std::string& reply);
  void on_leave(client& c, const request& r);
  // `name` by value: callers pass elements of c.rooms, which this erases.
  void leave_room(client& c, std::string name, bool tell_self, bool quiet = false,
                  std::string_view reason = {}, std::string_view by = {});
  room* joined_room(client& c, const request& r);
  void on_history(client& c, const request& r);

  // hub_fanout.cpp: messages in and out of rooms.
  void on_say(client& c, const request& r);
  // What a sender gave to recognise its message in the ack.
  struct send_tag {
    std::string ref;
    std::string cid;
  };
  void on_stored(std::uint64_t sender, const std::string& room_name, const send_tag& tag,
                 append_result a);
  void send_ack(client& c, const std::string& room_name, const send_tag& tag, std::int64_t id);
  // store_listener: called through the store only.
  void on_message(const stored_message& m) override;
  void on_resync() override;
  void on_resync_feeds(const std::function<bool(const std::string&)>& pick) override;
  void on_presence(const std::string& room_name, const std::string& nick, bool joined) override;
  bool listed_here(const room& rm, std::string_view nick);
  void on_remote_typing(const std::string& room_name, const std::string& nick,
                        const std::string& user_key) override;
  void tell_typing(room& rm, const std::string& nick, const std::string& user_key);
  void carry_out(room& rm, room_feed::actions actions);
  void fetch(room& rm, const room_feed::fetch& f);
  void on_typing(client& c, const request& r);
  void broadcast(room& rm, const std::string& json, std::uint64_t except = 0);
  void hold(client& c, const std::string& room_name, const std::string& json);
  void listen(client& c, room& rm);
  void stop_listening(client& c, room& rm);

  // hub_private.cpp: private conversations.
  struct peer_ref {
    std::string key;
    std::string name;
  };
  void welcome_user(client& c);
  void on_user_loaded(const std::string& key, bool ok, user_record rec);
  void send_welcome(client& c, user& u);
  user* signed_in_user(client& c);
  std::optional<peer_ref> peer_of(client& c, user& me, const request& r);
  std::optional<std::string> name_of_key(const std::string& key);
  std::string shown_name(const std::string& key, const std::string& other_key);
  bool online_here(const std::string& key) const;
  void load_user(const std::string& key, user& u);
  void on_dm(client& c, const request& r);
  void on_dm_stored(std::uint64_t sender, const std::string& feed, const send_tag& tag,
                    append_result a);
  conversation_state* convo_named(const std::string& feed, const peer_ref& a, const peer_ref& b);
  conversation_state* live_convo(const std::string& feed, std::uint64_t serial);
  void on_dm_message(const stored_message& m);
  void carry_out(conversation_state& cv, room_feed::actions actions);
  void deliver_dm(conversation_state& cv, const stored_message& m);
  void note_peer(const std::string& user_key, const peer_ref& peer, const std::string& feed,
                 std::int64_t id);
  void release_convo_if_unused(const std::string& feed);
  void release_convos_of(const std::string& user_key);
  void on_conversation(client& c, const request& r);
  void send_conversation(std::uint64_t cid, const std::string& with, const std::string& feed,
                         std::int64_t since, std::int64_t up_to);
  void on_private_history(client& c, const request& r);
  void on_conversations(client& c);
  std::vector<wire::conversation_summary> summaries(const user& u) const;

  // hub_edits.cpp: edits, deletions and reactions (events on a message), and the rules for
  // the text of a say, a dm or an edit and for where a reply points.
  struct refusal {
    std::string code;
    std::string message;
  };
  std::optional<refusal> text_problem(const std::string& text) const;
  std::optional<refusal> reply_problem(std::int64_t reply_to, std::int64_t known) const;
  struct event_place {
    std::string feed;
    std::string shown;  // the room's name, or the other user's as this user sees it
    std::string peer;   // a conversation's other user key
    bool dm = false;
  };
  std::optional<event_place> place_of(client& c, const request& r);
  void refuse_event(client& c, const event_place& p, std::string_view code, std::string_view why,
                    std::string_view cid);
  void on_event(client& c, const request& r);
  void check_event(client& c, const event_place& p, stored_message e, bool ok,
                   const std::vector<stored_message>& found);
  void append_event(client& c, const event_place& p, stored_message e);

  // hub_read.cpp: read marks, the user's across its sessions.
  void on_read(client& c, const request& r);
  std::int64_t last_read(const user& u, const std::string& feed) const;
  void mark_read(const std::string& user_key, const std::string& feed, std::string_view field,
                 std::string_view shown, std::int64_t id, client* asking);
  std::optional<wire::read_state> room_read_state(client& c, const std::string& room_name,
                                                  std::int64_t up_to);
  void note_sent(client& c, const std::string& feed, std::int64_t id);

  // hub_search.cpp: search and messages around one.
  void on_search(client& c, const request& r);
  // Every feed the client may read, by feed: how its reader names it.
  std::map<std::string, std::pair<std::string, std::string>> readable_feeds(client& c);
  void on_around(client& c, const request& r);
  void send_around(std::uint64_t client_id, std::string field, std::string name, std::string feed,
                   std::int64_t id, std::int64_t before, std::int64_t after);

  // hub_moderation.cpp: the directory, owners and moderators.
  bool is_room_request(const std::string& type) const;
  void on_room_request(client& c, const request& r);
  void dispatch_room_request(client& c, const request& r);
  bool admit(client& c, const std::string& name);
  void on_directory(client& c, const request& r);
  void on_create(client& c, const request& r);
  void create_room(client& c, const std::string& name, const std::string& topic, bool invite_only);
  void on_leave_room(client& c, const std::string& name);
  struct target;
  std::optional<target> moderation(client& c, const request& r, bool owner_only, bool needs_user);
  void on_kick(client& c, const request& r, bool ban);
  void on_unban(client& c, const request& r);
  void on_invite(client& c, const request& r);
  void on_mute(client& c, const request& r);
  void on_delete(client& c, const request& r);
  void on_promote(client& c, const request& r);
  void on_topic(client& c, const request& r);
  void expel(const std::string& room_name, const std::string& user_key, const std::string& shown,
             std::string_view reason, std::string_view by);
  wire::room_view view_of(const room_record& rec, const std::string& reader);
  void announce_room(const std::string& room_name);
  // hub_directory_sync.cpp: another node's change to a shared directory.
  void follow_member(const std::string& room_name, const std::string& user_key);
  void follow_guests(const std::string& room_name);
  bool still_admitted(client& c, const std::string& name);
  bool admitted_by(client& c, const std::string& name);
  std::vector<std::string> stored_member_names(const std::string& room_name);

  store& store_;
  std::unique_ptr<room_directory> own_directory_;  // when the caller gave none
  room_directory& dir_;
  publisher& topics_;
  hub_limits limits_;
  clock now_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_room_serial_ = 1;
  bool opening_ = false;      // inside room_named's call to the store
  bool open_failed_ = false;  // ... which answered at once that it failed
  std::unordered_map<std::uint64_t, client> clients_;
  std::map<std::string, room> rooms_;
  std::unordered_map<std::string, user> users_;              // user key (see client::user) -> user
  std::unordered_map<std::string, std::string> shown_keys_;  // names::key(shown) -> user key
  // names::look_alike_key -> names::key: a name may not look like another one in use.
  std::unordered_map<std::string, std::string> look_alikes_;
  hub_counters counters_;
  name_guard registered_;
  // hub_private.cpp
  std::map<std::string, conversation_state, std::less<>> convos_;  // by feed
  std::uint64_t next_convo_serial_ = 1;
  recent_ids unordered_dms_{1'024};  // delivered while at max_conversations (hub_private.cpp)
  user_directory directory_;
  message_search* search_ = nullptr;
  attachment_check attachments_;
  // The attachment of a say or dm: "" for none; nothing (after refusing) for a bad one.
  std::optional<std::string> attachment_of(client& c, const request& r, const std::string& feed);
};

}  // namespace duplex::chat
