// Where the chat keeps room history and how stored messages reach every node: one small
// asynchronous interface with two backends, embedded SQLite (one node) and Redis (several).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duplex::chat {

// Who reacted to a message with one emoji, in the order they did (names in carried form).
struct reaction {
  std::string emoji;
  std::vector<std::string> nicks;
};

// A feed is a room ("general") or a private conversation ("@" + two user keys, see
// conversations.hpp): both are stored, numbered and read the same way. An entry is a message
// (`kind` empty) or an event on an earlier message of the feed (message_fold.hpp), numbered
// from the same sequence so that a resume replays both in order.
struct stored_message {
  std::string room;
  std::int64_t id = 0;  // increasing per room, assigned by the store
  std::string nick;
  std::string text;
  std::int64_t ts_ms = 0;
  // The sender's client id (docs/chat-protocol.md, `cid`), stored and shown with the message;
  // empty when the sender gave none.
  std::string cid{};
  // Whom a cid belongs to (the sender's user key): never shown; append_once, and who may edit.
  std::string author{};
  // "" (a message), "edit", "delete", "react" or "unreact" (message_fold.hpp).
  std::string kind{};
  // A message: the id it replies to (0: none). An event: the message it changes.
  std::int64_t ref_id = 0;
  // A message as reads give it, folded: when it was last edited (0: never) and its reactions.
  // A deleted message has an empty text, as a moderator's erase leaves it.
  std::int64_t edited_ms = 0;
  std::vector<reaction> reactions{};
  // The attachment (docs/chat-protocol.md, "Files"): a JSON object as uploads.hpp writes it,
  // checked by the hub when the message was said; empty for none.
  std::string file{};
};

// The answer to append_once: `duplicate` when the cid was stored already, as `id`.
struct append_result {
  bool ok = false;
  std::int64_t id = 0;
  bool duplicate = false;
};

using read_done = std::function<void(bool ok, std::vector<stored_message> messages)>;

// ----- Private conversations and read marks (issue 11, items 5 and 7)

// One of a user's conversations, as load_user() lists it.
struct conversation_entry {
  std::string peer;       // the other user's key
  std::string peer_name;  // as shown
  std::string feed;
  std::int64_t last_id = 0;  // the highest id stored in the feed
};
// What the hub keeps of a signed-in user while one of its sessions is online.
struct user_record {
  std::vector<conversation_entry> conversations;
  std::vector<std::pair<std::string, std::int64_t>> read_marks;  // (feed, last read id)
};

// What a store reports on its own, not as the answer to a call. Runs on the hub's thread.
class store_listener {
 public:
  // Each message stored in a room by any node sharing this store, this one included, in id
  // order per room. Ids may be skipped (a lost feed, a failed write): the hub asks range() for
  // what lies between.
  virtual void on_message(const stored_message& m) = 0;
  // The feed of messages, or the store itself, was lost and is back: the hub catches up with
  // range() (a gap it could not read meanwhile included).
  virtual void on_resync() = 0;
  // Another node's member joined (true) or left (false) a room, or vanished with its node.
  virtual void on_presence(const std::string& room, const std::string& nick, bool joined) = 0;
  // As on_resync, for the feeds (rooms and conversations) that `pick` names only: the part of
  // a sharded bus that came back, or a channel just subscribed to.
  virtual void on_resync_feeds(const std::function<bool(const std::string& feed)>& pick) {
    (void)pick;
    on_resync();
  }
  // Another node's member `nick` (user key `user`) types in `room`.
  virtual void on_remote_typing(const std::string& room, const std::string& nick,
                                const std::string& user) {
    (void)room, (void)nick, (void)user;
  }

 protected:
  ~store_listener() = default;
};

// Every callback runs on the hub's thread, possibly before the call that caused it returns.
class store {
 public:
  virtual ~store() = default;

  // The one listener, or none (null). It is told nothing once replaced, so it may go then.
  void set_listener(store_listener* l) noexcept { listener_ = l; }
  store_listener* listener() const noexcept { return listener_; }

  // The highest id stored for the room (0 if none).
  virtual void last_id(std::string_view room,
                       std::function<void(bool ok, std::int64_t id)> done) = 0;
  // Gives `m` the next id of its room and stores it; done(ok, id) once it is durable. A stored
  // message also comes back through on_message, before or after done.
  virtual void append(stored_message m, std::function<void(bool ok, std::int64_t id)> done) = 0;
  // As append, but a message with a cid that its author already stored in the same feed
  // (among the author's last max_sent_cids) is not stored again: done gets the first one's id
  // with `duplicate`, and nothing is reported. Without a cid, or in a backend that keeps no
  // cids, it is append.
  virtual void append_once(stored_message m, std::function<void(append_result)> done) {
    append(std::move(m), [done = std::move(done)](bool ok, std::int64_t id) {
      done({ok, id, false});
    });
  }
  // Cids kept per author, across feeds (redis_store: per author and feed, each feed's on its
  // shard): a resend older than that is stored again.
  static constexpr std::size_t max_sent_cids = 1'000;
  // Up to `limit` messages with id < before_id, oldest first.
  virtual void before(std::string_view room, std::int64_t before_id, std::size_t limit,
                      read_done done) = 0;
  // Messages with after_id < id <= up_to, oldest first, at most `limit`. Authoritative: an id
  // in the interval that is not returned does not exist (was pruned or never written).
  virtual void range(std::string_view room, std::int64_t after_id, std::int64_t up_to,
                     std::size_t limit, read_done done) = 0;
  // Names of rooms that have history.
  virtual void rooms(std::function<void(bool ok, std::vector<std::string> names)> done) = 0;

  // Whether events (edits, deletions, reactions) and replies are kept: appends of them, and
  // the folded state of messages in reads (message_fold.hpp). A store without them is told
  // none: the hub refuses them with "edits_unavailable".
  virtual bool keeps_events() const noexcept { return false; }

  // ----- moderation (rooms)
  // Deletes a message's text, keeping its id (so a resume across it is no gap): reads return
  // it with an empty text, which no client ever sends. done(ok, found). A backend that cannot
  // answers (false, false).
  virtual void erase(std::string_view room, std::int64_t id,
                     std::function<void(bool ok, bool found)> done) {
    (void)room, (void)id;
    done(false, false);
  }

  // Presence shared with other nodes: this node's member `nick` is in `room` or not. A node
  // that dies stops refreshing its entries, and they expire. One node alone shares nothing.
  virtual void set_presence(const std::string& room, const std::string& nick, bool present) {
    (void)room, (void)nick, (void)present;
  }
  // This node's member `user` types in `room` (throttled by the hub): other nodes tell theirs.
  virtual void typing(const std::string& room, const std::string& nick, const std::string& user) {
    (void)room, (void)nick, (void)user;
  }
  // A signed-in `user` has a session on this node (true) or no longer (false): a shared store
  // brings it the private messages other nodes store.
  virtual void watch_user(const std::string& user, bool on) { (void)user, (void)on; }
  // Members of `room` on other nodes (this node's own are the hub's to know).
  virtual void remote_members(const std::string& room,
                              std::function<void(bool ok, std::vector<std::string> nicks)> done) {
    (void)room;
    done(true, {});
  }

  // ----- Private conversations and read marks (issue 11, items 5 and 7). The defaults keep
  // nothing: a store without them lists no conversation and forgets read marks.

  // The user's conversations (at most max_listed_conversations) and read marks (at most
  // max_listed_marks), read when the user's first session signs in.
  virtual void load_user(std::string_view user, std::function<void(bool ok, user_record)> done) {
    (void)user;
    done(true, {});
  }
  // Users `a` and `b` have a conversation in `feed`: each lists it under the other's name.
  // Written in order with the appends that follow, and idempotent.
  virtual void add_conversation(const std::string& feed, const std::string& a,
                                const std::string& a_name, const std::string& b,
                                const std::string& b_name) {
    (void)feed, (void)a, (void)a_name, (void)b, (void)b_name;
  }
  // Raises the user's read mark in the feed to `id`, or sets it (0 included) when there is
  // none; a lower id changes nothing.
  virtual void set_read(const std::string& user, const std::string& feed, std::int64_t id) {
    (void)user, (void)feed, (void)id;
  }
  static constexpr std::size_t max_listed_conversations = 1'000;
  static constexpr std::size_t max_listed_marks = 4'096;

 protected:
  // For the backends: what they tell the listener, if there is one.
  void report_message(const stored_message& m) {
    if (listener_ != nullptr) listener_->on_message(m);
  }
  void report_resync() {
    if (listener_ != nullptr) listener_->on_resync();
  }
  void report_presence(const std::string& room, const std::string& nick, bool joined) {
    if (listener_ != nullptr) listener_->on_presence(room, nick, joined);
  }
  void report_resync_feeds(const std::function<bool(const std::string&)>& pick) {
    if (listener_ != nullptr) listener_->on_resync_feeds(pick);
  }
  void report_typing(const std::string& room, const std::string& nick, const std::string& user) {
    if (listener_ != nullptr) listener_->on_remote_typing(room, nick, user);
  }

 private:
  store_listener* listener_ = nullptr;
};

}  // namespace duplex::chat
