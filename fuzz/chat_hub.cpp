// Fuzzes chat::hub, the chat's rules, with several clients and a store whose answers come late,
// out of order, failed or from inside the call, and checks what every client receives against
// what docs/chat-protocol.md and hub.cpp promise.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "duplex/core/utf8.hpp"
#include "fuzz_check.hpp"
#include "src/conversations.hpp"
#include "src/hub.hpp"
#include "src/names.hpp"
#include "src/store.hpp"

// FUZZ_CHECK, with the message that broke the rule printed first so that a finding reads on
// its own.
#define CHAT_CHECK(cond, detail)                                           \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "chat_hub: %s\n", std::string(detail).c_str()); \
      FUZZ_CHECK(cond);                                                    \
    }                                                                      \
  } while (0)

namespace duplex::fuzz {
namespace {

using json = nlohmann::json;
using chat::stored_message;

// The input, read front to back; an exhausted input reads as zeros, so every input is a run.
class reader {
 public:
  reader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ == end_; }
  std::uint8_t byte() { return p_ == end_ ? 0 : *p_++; }
  std::size_t below(std::size_t n) { return byte() % n; }
  std::string bytes(std::size_t max) {
    // Two statements: the length byte must be taken before what is left is measured (the
    // order of a call's arguments is unspecified, and GCC measured first: one byte too many).
    const std::size_t wanted = below(max + 1);
    const std::size_t n = std::min(wanted, static_cast<std::size_t>(end_ - p_));
    std::string out(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return out;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// The WebSocket layer hands the hub valid UTF-8 only: bad bytes become '?' rather than
// skipping the input, so that most fuzz text still reaches the hub.
std::string valid_utf8(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 0;
    for (std::size_t n = 1; n <= 4 && i + n <= s.size() && len == 0; ++n)
      if (core::is_valid_utf8(s.substr(i, n))) len = n;
    if (len == 0) {
      out += '?';
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

// A string field, or empty when absent or of another kind (how the hub reads fields too).
std::string string_field(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string to_wire_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::uint64_t count(const std::map<std::string, std::uint64_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += unit;
  return out;
}

// Room names as clients write them: valid ones (two spell the same room), and invalid ones.
const std::vector<std::string>& client_rooms() {
  static const std::vector<std::string> v{
      "r0", "r1", "R0", "r2", "a-b_c", "", "no room", "\xC3\xA9", std::string(33, 'r')};
  return v;
}
// The rooms as the hub names them to the store (folded).
const std::vector<std::string>& store_rooms() {
  static const std::vector<std::string> v{"r0", "r1", "r2", "a-b_c"};
  return v;
}
// The key the hub knows a conversation's peer by: its account, whatever name it shows (ann
// shows "Annie" under profile bit 32).
std::string user_key(std::string_view shown) {
  std::string k = chat::names::key(shown);
  return k == "annie" ? "ann" : k;
}

const std::vector<std::string>& nicks() {
  static const std::vector<std::string> v{"ann",
                                          "Ann",
                                          "bob",
                                          "cy",
                                          "d\xC3\xA9",
                                          " ann",
                                          "ann ",
                                          "a\xE2\x80\x8B"
                                          "b",  // zero-width space
                                          "\xE2\x80\xAE"
                                          "evil",  // right-to-left override
                                          "",
                                          std::string(33, 'x'),
                                          repeat("\xC3\xA9", 32),
                                          "x\ny",
                                          "\xEF\xBF\xBD"};
  return v;
}

// CHAT_HUB_TRACE=1 prints what happens, to read a finding step by step.
bool tracing() {
  static const bool on = std::getenv("CHAT_HUB_TRACE") != nullptr;
  return on;
}
#define TRACE(...)                                    \
  do {                                                \
    if (tracing()) std::fprintf(stderr, __VA_ARGS__); \
  } while (0)

// CHAT_HUB_TOLERATE=name,name lets a known finding pass, so that fuzzing can go on past it
// until it is fixed. Names are those in the CHAT_CHECK_UNLESS calls below.
bool tolerated(const char* finding) {
  static const std::string list = [] {
    const char* env = std::getenv("CHAT_HUB_TOLERATE");
    return "," + std::string(env ? env : "") + ",";
  }();
  return list.find("," + std::string(finding) + ",") != std::string::npos;
}
#define CHAT_CHECK_UNLESS(finding, cond, detail)       \
  do {                                                 \
    if (!tolerated(finding)) CHAT_CHECK(cond, detail); \
  } while (0)

class harness;

// A connection as the hub sees it: what it is sent goes to the harness's checks.
class fake_session final : public chat::session {
 public:
  explicit fake_session(harness& h) : h_(h) {}
  bool send(std::string_view text, bool droppable) override;
  void close(ws::close_code code, std::string_view reason) override;
  void subscribe(std::string_view topic) override;
  void unsubscribe(std::string_view topic) override;

  harness& h_;
  int slot = 0;
  std::uint64_t hub_id = 0;
  bool detached = false;
  bool refuse_droppable = false;
  std::uint16_t closed = 0;      // the first close code the hub gave
  std::set<std::string> topics;  // subscribed to
  std::string nick;              // from the welcome
  std::string carried;           // as the hub and the store carry it (a guest's is marked)
  std::string token;             // from the welcome
  bool signed_in = false;        // attached as a signed-in user
  std::string account;           // a signed-in user's account key (hub::attach)
  std::map<std::string, std::int64_t> dm_seen;  // per conversation: the last `dm` id
  std::vector<std::string> got;
  // Per room: the highest id among `message` events and join histories, which every later
  // `message` must exceed.
  std::map<std::string, std::int64_t> seen;
  std::set<std::pair<std::string, std::int64_t>> delivered;  // (room, id) shown to the client
  std::map<std::string, std::uint64_t> lefts;                // `left` replies per room
  std::map<std::string, std::uint64_t> holes;   // errors telling the room's view has a hole
  std::map<std::string, std::int64_t> claimed;  // the highest `since` it joined with: seen
  std::map<std::string, bool> joined;  // between `joined` and `left`: the room's events come
  // Per room: the id up to which the client has every stored message, since its join history
  // (absent when an error left that unknown).
  std::map<std::string, std::int64_t> complete_to;
};

// One say the store was asked to append.
struct said {
  const fake_session* sender;
  std::string room;
  std::string ref;
  std::uint64_t lefts_then;  // the sender's `left` count for the room when it spoke
  std::uint64_t holes_then;  // and its count of errors telling its view of the room has holes
  bool ok = false;           // done(true, id) has run
  bool acked = false;
  // Resends of its cid, answered with its id: each owes one more ack, to (session, ref).
  std::vector<std::pair<const fake_session*, std::string>> reacks{};
  // An ack that is not the first one: one of a resend's, taken once.
  bool take_reack(const fake_session* s, const json& given) {
    for (auto it = reacks.begin(); it != reacks.end(); ++it)
      if (it->first == s && given == it->second) {
        reacks.erase(it);
        return true;
      }
    return false;
  }
};

// A store that answers when the input says, in the order it says, failing when it says: the
// completions wait in a queue. It stays truthful: ids increase per room, reads return what is
// stored, and the feed carries each room's messages in id order, perhaps with some lost.
class fake_store final : public chat::store {
 public:
  enum mode_bits : std::uint8_t {
    reads_at_once = 1,    // reads answer from inside the call, as SQLite's do
    appends_at_once = 2,  // appends too (stored at once)
    down = 4,             // every call fails from inside it, as Redis's do while it is down
    snapshot = 8,         // a queued read answers as of the call, not as of its completion
    members_queued = 16,  // remote_members waits too
    feed_with_done = 32,  // an append's message is on the feed before done runs
  };
  struct log {
    std::int64_t last = 0;  // the last id given out
    std::map<std::int64_t, stored_message> msgs;
    std::deque<stored_message> feed;  // stored, not yet published
  };
  struct pending {
    std::string what;
    std::function<void(std::uint8_t how)> run;
  };

  explicit fake_store(harness& h) : h_(h) {}

  void last_id(std::string_view room, std::function<void(bool, std::int64_t)> done) override;
  void append(stored_message m, std::function<void(bool, std::int64_t)> done) override;
  // As the real stores: a cid its author already wrote to the feed (answered or not) is
  // answered at once with that id, and owes its sender one more ack.
  void append_once(stored_message m, std::function<void(chat::append_result)> done) override;
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> cids;
  void before(std::string_view room, std::int64_t before_id, std::size_t limit,
              chat::read_done done) override;
  void range(std::string_view room, std::int64_t after_id, std::int64_t up_to, std::size_t limit,
             chat::read_done done) override;
  void rooms(std::function<void(bool, std::vector<std::string>)> done) override;
  void remote_members(const std::string& room,
                      std::function<void(bool, std::vector<std::string>)> done) override;
  void set_presence(const std::string& room, const std::string& nick, bool present) override;
  void load_user(std::string_view user, std::function<void(bool, chat::user_record)> done) override;
  void add_conversation(const std::string& feed, const std::string& a, const std::string& a_name,
                        const std::string& b, const std::string& b_name) override;
  void set_read(const std::string& user, const std::string& feed, std::int64_t id) override;
  std::map<std::string, chat::user_record> users;  // conversations and read marks per user key

  // Runs a queued completion; `how` decides its outcome.
  void run(std::size_t index, std::uint8_t how);
  // Publishes (or loses) the next message of a room's feed.
  void feed_step(std::size_t room_index, bool lose);
  // Publishes a room's feed up to and including `id`.
  void publish(const std::string& room, std::int64_t id);
  // Another node stores a message, after `skip` ids lost to failed writes.
  void remote_say(const std::string& room, std::int64_t skip, std::string nick, std::string text);
  void prune(const std::string& room, std::size_t keep);
  void resync(bool lose_queued_feed);
  bool feed_pending() const;
  // Another node's member joined or left.
  void presence(const std::string& room, const std::string& nick, bool joined) {
    report_presence(room, nick, joined);
  }

  std::uint8_t mode = 0;
  std::deque<pending> queue;
  std::map<std::string, log> logs;
  std::map<std::string, std::set<std::string>> remote;  // other nodes' members per room
  std::map<std::pair<std::string, std::int64_t>, said> appended;
  std::uint64_t calls = 0;
  bool lost = false;  // a feed message was lost since the last on_resync

 private:
  bool at_once_failure() const { return (mode & down) != 0; }
  void queue_read(std::string what, std::function<void(bool)> answer) {
    queue.push_back({std::move(what),
                     [answer = std::move(answer)](std::uint8_t how) { answer(how % 4 != 0); }});
  }
  // Every call is traced with how it is answered.
  void called(const std::string& what) const {
    TRACE("store: %s%s\n", what.c_str(),
          mode & down            ? ", fails at once"
          : mode & reads_at_once ? ", answered at once"
                                 : "");
  }
  std::vector<stored_message> read_before(const std::string& room, std::int64_t before_id,
                                          std::size_t limit) const;
  std::vector<stored_message> read_range(const std::string& room, std::int64_t after_id,
                                         std::int64_t up_to, std::size_t limit) const;
  std::int64_t read_last(const std::string& room) const {
    auto it = logs.find(room);
    return it == logs.end() ? 0 : it->second.last;
  }
  void store_now(stored_message m, std::function<void(bool, std::int64_t)> done, bool report,
                 bool feed_first, const said& who);

  harness& h_;
};

// The run. The input is a byte choosing the limits, a byte of store mode, then operations until
// it ends: an opcode byte, a client slot byte and the operation's own bytes (see step();
// fuzz/chat_hub_seeds.py writes seeds in this layout). Then every client leaves, the store
// answers everything, and the hub must be empty.
class harness final : public chat::publisher {
 public:
  harness(const std::uint8_t* data, std::size_t size);
  void run();

  // Called by the sessions.
  void on_send(fake_session& s, std::string_view text, bool droppable);
  void on_close(fake_session& s, std::uint16_t code);
  void on_subscribe(fake_session& s, std::string_view topic, bool on);
  void check_private(fake_session& s, const json& j, const std::string& line);
  // The server's topics: each subscriber gets the message at once, in subscription order.
  void publish(std::string_view topic, std::string_view text) override;

  // What the store needs to know of the request being handled.
  const fake_session* speaking = nullptr;
  std::string speaking_ref;
  std::uint64_t sends = 0;
  std::uint64_t closes = 0;

  // Runs hub code; an exception escaping the hub is a finding.
  template <class F>
  void guard(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chat_hub: exception escaped %s: %s\n", what, e.what());
      FUZZ_CHECK(!"an exception escaped the hub");
    } catch (...) {
      std::fprintf(stderr, "chat_hub: exception escaped %s\n", what);
      FUZZ_CHECK(!"an exception escaped the hub");
    }
  }

 private:
  struct slot {
    fake_session* s = nullptr;
    std::uint64_t id = 0;
  };
  static constexpr std::size_t slots = 4;
  static constexpr std::size_t max_sessions = 32;

  static chat::hub_limits limits_for(std::uint8_t profile);
  bool ensure(slot& sl, std::size_t cap = max_sessions);
  void detach(slot& sl);
  void step();
  void request(slot& sl, std::uint8_t kind);
  void send_text(slot& sl, const std::string& text);
  void expect_no_effect(const char* what, const std::function<void()>& f);
  void quiesce();
  void finish();
  void sweep();
  std::size_t attached() const;
  bool pruned(const std::string& room, std::int64_t id) const {
    auto it = store_.logs.find(room);
    return it != store_.logs.end() && !it->second.msgs.contains(id);
  }
  std::string pick_room(std::uint8_t b) const { return store_rooms()[b % store_rooms().size()]; }

  json odd();
  json room_value();
  json text_value();
  json since_value(const json& room);
  std::string ref_value(json& j);

  reader in_;
  std::uint8_t profile_;
  chat::hub_limits limits_;
  std::int64_t now_ = 1'700'000'000'000;
  int floods_ = 0;
  std::map<std::string, std::vector<fake_session*>, std::less<>> subscribers_;
  std::string parsed_text_;  // the last text a session was sent, and its parse
  json parsed_;
  fake_store store_;
  std::vector<std::unique_ptr<fake_session>> sessions_;
  slot slots_[slots];
  std::unique_ptr<chat::hub> hub_;
};

// ----- sessions

bool fake_session::send(std::string_view text, bool droppable) {
  if (droppable && refuse_droppable) return false;
  h_.on_send(*this, text, droppable);
  return true;
}

void fake_session::close(ws::close_code code, std::string_view) {
  h_.on_close(*this, ws::to_int(code));
}

void fake_session::subscribe(std::string_view topic) {
  h_.on_subscribe(*this, topic, true);
}

void fake_session::unsubscribe(std::string_view topic) {
  h_.on_subscribe(*this, topic, false);
}

// ----- store

std::vector<stored_message> fake_store::read_before(const std::string& room, std::int64_t before_id,
                                                    std::size_t limit) const {
  std::vector<stored_message> out;
  auto it = logs.find(room);
  if (it == logs.end()) return out;
  for (auto m = it->second.msgs.lower_bound(before_id);
       m != it->second.msgs.begin() && out.size() < limit;)
    out.push_back((--m)->second);
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<stored_message> fake_store::read_range(const std::string& room, std::int64_t after_id,
                                                   std::int64_t up_to, std::size_t limit) const {
  std::vector<stored_message> out;
  auto it = logs.find(room);
  if (it == logs.end()) return out;
  for (auto m = it->second.msgs.upper_bound(after_id);
       m != it->second.msgs.end() && m->first <= up_to && out.size() < limit; ++m)
    out.push_back(m->second);
  return out;
}

void fake_store::last_id(std::string_view room_view, std::function<void(bool, std::int64_t)> done) {
  ++calls;
  const std::string room(room_view);
  called("last_id " + room);
  if (at_once_failure()) return done(false, 0);
  if (mode & reads_at_once) return done(true, read_last(room));
  const std::int64_t then = read_last(room);
  const bool snap = (mode & snapshot) != 0;
  queue_read("last_id " + room, [this, room, then, snap, done = std::move(done)](bool ok) {
    done(ok, ok ? (snap ? then : read_last(room)) : 0);
  });
}

void fake_store::before(std::string_view room_view, std::int64_t before_id, std::size_t limit,
                        chat::read_done done) {
  ++calls;
  const std::string room(room_view);
  const std::string what =
      "before " + room + " " + std::to_string(before_id) + " limit " + std::to_string(limit);
  called(what);
  if (at_once_failure()) return done(false, {});
  if (mode & reads_at_once) return done(true, read_before(room, before_id, limit));
  auto then = read_before(room, before_id, limit);
  const bool snap = (mode & snapshot) != 0;
  queue_read(what, [this, room, before_id, limit, then = std::move(then), snap,
                    done = std::move(done)](bool ok) {
    if (!ok) return done(false, {});
    done(true, snap ? then : read_before(room, before_id, limit));
  });
}

void fake_store::range(std::string_view room_view, std::int64_t after_id, std::int64_t up_to,
                       std::size_t limit, chat::read_done done) {
  ++calls;
  const std::string room(room_view);
  const std::string what = "range " + room + " (" + std::to_string(after_id) + ", " +
                           std::to_string(up_to) + "] limit " + std::to_string(limit);
  called(what);
  if (at_once_failure()) return done(false, {});
  if (mode & reads_at_once) return done(true, read_range(room, after_id, up_to, limit));
  auto then = read_range(room, after_id, up_to, limit);
  const bool snap = (mode & snapshot) != 0;
  queue_read(what, [this, room, after_id, up_to, limit, then = std::move(then), snap,
                    done = std::move(done)](bool ok) {
    if (!ok) return done(false, {});
    done(true, snap ? then : read_range(room, after_id, up_to, limit));
  });
}

void fake_store::rooms(std::function<void(bool, std::vector<std::string>)> done) {
  ++calls;
  auto names = [this] {
    std::vector<std::string> out;
    for (const auto& [name, l] : logs)
      if (!l.msgs.empty()) out.push_back(name);
    return out;
  };
  called("rooms");
  if (at_once_failure()) return done(false, {});
  if (mode & reads_at_once) return done(true, names());
  queue_read("rooms", [names, done = std::move(done)](bool ok) {
    if (!ok) return done(false, {});
    done(true, names());
  });
}

void fake_store::remote_members(const std::string& room,
                                std::function<void(bool, std::vector<std::string>)> done) {
  ++calls;
  auto members = [this, room] {
    auto it = remote.find(room);
    return it == remote.end() ? std::vector<std::string>()
                              : std::vector<std::string>(it->second.begin(), it->second.end());
  };
  TRACE("store: remote_members %s%s\n", room.c_str(),
        mode & down             ? ", fails at once"
        : mode & members_queued ? ""
                                : ", answered at once");
  if (at_once_failure()) return done(false, {});
  if (!(mode & members_queued)) return done(true, members());
  queue_read("remote_members " + room, [members, done = std::move(done)](bool ok) {
    if (!ok) return done(false, {});
    done(true, members());
  });
}

void fake_store::set_presence(const std::string& room, const std::string& nick, bool) {
  ++calls;
  CHAT_CHECK(!nick.empty() && chat::names::valid_room(room),
             "set_presence(" + room + ", " + nick + ")");
}

// What a signed-in user's first session reads: answered like any read.
void fake_store::load_user(std::string_view user,
                           std::function<void(bool, chat::user_record)> done) {
  ++calls;
  CHAT_CHECK(user == "ann" || user == "bob", "load_user(" + std::string(user) + ")");
  auto record = [this, key = std::string(user)] {
    chat::user_record rec = users[key];
    for (auto& c : rec.conversations)
      c.last_id = read_last(c.feed);
    return rec;
  };
  called("load_user " + std::string(user));
  if (at_once_failure()) return done(false, {});
  if (mode & reads_at_once) return done(true, record());
  queue_read("load_user", [record, done = std::move(done)](bool ok) {
    if (!ok) return done(false, {});
    done(true, record());
  });
}

void fake_store::add_conversation(const std::string& feed, const std::string& a,
                                  const std::string& a_name, const std::string& b,
                                  const std::string& b_name) {
  ++calls;
  CHAT_CHECK(chat::conversations::feed_of(a, b) == feed && a != b, "add_conversation " + a + b);
  auto note = [&](const std::string& user, const std::string& peer, const std::string& name) {
    auto& list = users[user].conversations;
    if (std::none_of(list.begin(), list.end(), [&](const auto& c) { return c.peer == peer; }))
      list.push_back({peer, name, feed, 0});
  };
  note(a, b, b_name);
  note(b, a, a_name);
}

void fake_store::set_read(const std::string& user, const std::string& feed, std::int64_t id) {
  ++calls;
  CHAT_CHECK(id >= 0 && id <= read_last(feed), "set_read beyond the feed: " + std::to_string(id));
  auto& marks = users[user].read_marks;
  for (auto& [f, mark] : marks)
    if (f == feed) {
      CHAT_CHECK(id >= mark, "a read mark moved back");
      mark = id;
      return;
    }
  marks.emplace_back(feed, id);
}

void fake_store::append(stored_message m, std::function<void(bool, std::int64_t)> done) {
  ++calls;
  // Only a say appends, and only with the speaker's own name, in a room it may be in.
  CHAT_CHECK(h_.speaking != nullptr, "append outside a request: " + m.text);
  CHAT_CHECK(m.nick == h_.speaking->carried, "append as " + m.nick + " by " + h_.speaking->carried);
  CHAT_CHECK((chat::names::valid_room(m.room) && m.room == chat::names::room_key(m.room)) ||
                 (chat::conversations::members(m.room) && h_.speaking->signed_in),
             "append to " + m.room);
  CHAT_CHECK(!m.text.empty() && m.text.size() <= 4096, "append of " + m.text);
  const said who{h_.speaking, m.room, h_.speaking_ref, count(h_.speaking->lefts, m.room),
                 count(h_.speaking->holes, m.room)};
  TRACE("store: append %s%s\n", m.room.c_str(),
        mode & down              ? ", fails at once"
        : mode & appends_at_once ? ", stored at once"
                                 : "");
  if (at_once_failure()) return done(false, 0);
  if (mode & appends_at_once)
    return store_now(std::move(m), std::move(done), true, (mode & feed_with_done) != 0, who);
  queue.push_back(
      {"append " + m.room, [this, m = std::move(m), done = std::move(done), who](std::uint8_t how) {
         switch (how % 8) {
           case 0:  // refused before anything was written
             return done(false, 0);
           case 1:  // a failed write that used up its id: a gap
             ++logs[m.room].last;
             return done(false, 0);
           case 2:  // written, but the answer was lost (a connection that dropped meanwhile)
             return store_now(m, done, false, (how & 0x80) != 0, who);
           default:
             return store_now(m, done, true, (how & 0x80) != 0, who);
         }
       }});
}

void fake_store::append_once(stored_message m, std::function<void(chat::append_result)> done) {
  auto known = m.cid.empty() ? cids.end() : cids.find({m.room, m.author, m.cid});
  if (known == cids.end() || (mode & down))
    return append(std::move(m), [done = std::move(done)](bool ok, std::int64_t id) {
      done({ok, id, false});
    });
  CHAT_CHECK(h_.speaking != nullptr, "append outside a request: " + m.text);
  TRACE("store: %s #%lld again (cid %s)\n", m.room.c_str(), static_cast<long long>(known->second),
        m.cid.c_str());
  appended[{m.room, known->second}].reacks.emplace_back(h_.speaking, h_.speaking_ref);
  done({true, known->second, true});
}

void fake_store::store_now(stored_message m, std::function<void(bool, std::int64_t)> done,
                           bool report, bool feed_first, const said& who) {
  log& l = logs[m.room];
  m.id = ++l.last;
  TRACE("store: stored %s #%lld%s\n", m.room.c_str(), static_cast<long long>(m.id),
        report ? "" : ", reported failed");
  l.msgs[m.id] = m;
  l.feed.push_back(m);
  if (!m.cid.empty()) cids[{m.room, m.author, m.cid}] = m.id;
  said& s = appended[{m.room, m.id}];
  s = who;
  s.ok = report;
  if (feed_first) publish(m.room, m.id);
  done(report, report ? m.id : 0);
}

void fake_store::publish(const std::string& room, std::int64_t id) {
  auto it = logs.find(room);
  if (it == logs.end()) return;
  while (!it->second.feed.empty() && it->second.feed.front().id <= id) {
    const stored_message m = std::move(it->second.feed.front());
    it->second.feed.pop_front();
    TRACE("store: feed %s #%lld, published at once\n", m.room.c_str(),
          static_cast<long long>(m.id));
    report_message(m);
  }
}

void fake_store::feed_step(std::size_t room_index, bool lose) {
  std::vector<std::string> rooms;
  for (const auto& [name, l] : logs)
    if (!l.feed.empty()) rooms.push_back(name);
  if (rooms.empty()) return;
  log& l = logs[rooms[room_index % rooms.size()]];
  const stored_message m = std::move(l.feed.front());
  l.feed.pop_front();
  TRACE("store: feed %s #%lld%s\n", m.room.c_str(), static_cast<long long>(m.id),
        lose ? " lost" : "");
  if (lose) {
    lost = true;
    return;
  }
  report_message(m);
}

void fake_store::remote_say(const std::string& room, std::int64_t skip, std::string nick,
                            std::string text) {
  log& l = logs[room];
  l.last += skip;
  stored_message m{room, ++l.last, std::move(nick), std::move(text), 1'700'000'000'000};
  l.msgs[m.id] = m;
  TRACE("store: remote %s #%lld\n", room.c_str(), static_cast<long long>(m.id));
  l.feed.push_back(std::move(m));
}

void fake_store::prune(const std::string& room, std::size_t keep) {
  auto it = logs.find(room);
  if (it == logs.end()) return;
  auto& msgs = it->second.msgs;
  TRACE("store: prune %s to %zu\n", room.c_str(), keep);
  while (msgs.size() > keep)
    msgs.erase(msgs.begin());
}

void fake_store::resync(bool lose_queued_feed) {
  if (lose_queued_feed) {
    for (auto& [name, l] : logs) {
      if (!l.feed.empty()) lost = true;
      l.feed.clear();
    }
  }
  lost = false;
  TRACE("store: resync\n");
  report_resync();
}

bool fake_store::feed_pending() const {
  for (const auto& [name, l] : logs)
    if (!l.feed.empty()) return true;
  return false;
}

void fake_store::run(std::size_t index, std::uint8_t how) {
  if (queue.empty()) return;
  auto it = queue.begin() + static_cast<std::ptrdiff_t>(index % queue.size());
  auto fn = std::move(it->run);
  TRACE("store: completion of %s, how %u\n", it->what.c_str(), how);
  queue.erase(it);
  h_.guard("a store completion", [&] { fn(how); });
}

// ----- the checks on what sessions are sent

void harness::on_send(fake_session& s, std::string_view text, bool droppable) {
  ++sends;
  const std::string line(text);
  TRACE("  -> %d%s %s\n", s.slot, droppable ? " (droppable)" : "", line.c_str());
  CHAT_CHECK(!s.detached, "sent to a detached session: " + line);
  s.got.push_back(line);
  // A broadcast sends one text to every member: it is parsed once.
  if (text != parsed_text_) {
    parsed_text_ = text;
    parsed_ = json::parse(text, nullptr, false);
  }
  const json& j = parsed_;
  CHAT_CHECK(!j.is_discarded() && j.is_object() && j.contains("type") && j["type"].is_string(),
             "not a JSON object with a string type: " + line);
  const std::string type = j["type"];
  CHAT_CHECK(!droppable || type == "typing", "droppable: " + line);
  // A connection taken over by a newer one (or a guest whose name its registered owner took)
  // has left every room and lost its name: only answers to what it asked before can reach it.
  if (s.closed == 4000 || s.closed == 4002)
    CHAT_CHECK(type != "message" && type != "presence" && type != "typing" && type != "joined" &&
                   type != "welcome" && type != "left" && type != "dm" && type != "read",
               "to a replaced connection: " + line);
  auto room_of = [&] { return j.contains("room") && j["room"].is_string() ? j["room"] : json(); };
  auto id_of = [](const json& m) {
    return m.contains("id") && m["id"].is_number_integer() ? m["id"].get<std::int64_t>() : -1;
  };
  if (type == "welcome") {
    s.nick = string_field(j, "nick");
    const bool guest = j.contains("guest") && j["guest"] == true;
    s.carried = guest ? chat::wire::guest_name(s.nick) : s.nick;
    s.token = string_field(j, "token");
  } else if (type == "joined") {
    CHAT_CHECK(room_of().is_string(), line);
    s.joined[room_of()] = true;
  } else if (type == "left") {
    CHAT_CHECK(room_of().is_string(), line);
    ++s.lefts[room_of()];
    s.joined[room_of()] = false;
  } else if (type == "error") {
    const std::string code = string_field(j, "code");
    // The client is told its view of the room has a hole: it must join again.
    if (code == "resume_too_old" || code == "store_failed") {
      s.complete_to.erase(string_field(j, "room"));
      ++s.holes[string_field(j, "room")];
    }
  } else if ((type == "presence" || type == "typing") && s.closed == 0) {
    CHAT_CHECK(room_of().is_string(), line);
    CHAT_CHECK_UNLESS("stale-history", s.joined[room_of()], "before joined or after left: " + line);
  } else if (type == "message") {
    CHAT_CHECK(room_of().is_string() && id_of(j) > 0, line);
    const std::string room = room_of();
    const std::int64_t id = id_of(j);
    // Each client sees a room's messages once, in id order, after its join history.
    CHAT_CHECK_UNLESS("join-order", id > s.seen[room],
                      "out of order or twice (seen " + std::to_string(s.seen[room]) + "): " + line);
    s.seen[room] = std::max(s.seen[room], id);
    s.delivered.insert({room, id});
    if (s.closed == 0) {  // a client closed for being too far behind misses messages
      CHAT_CHECK_UNLESS("stale-history", s.joined[room], "before joined or after left: " + line);
      // Nothing stored between what the client has and this message was skipped.
      auto known = s.complete_to.find(room);
      auto log = store_.logs.find(room);
      if (known != s.complete_to.end() && log != store_.logs.end()) {
        auto missed = log->second.msgs.upper_bound(known->second);
        CHAT_CHECK_UNLESS("gap", missed == log->second.msgs.end() || missed->first >= id,
                          "#" + std::to_string(missed->first) + " was skipped: " + line);
      }
      s.complete_to[room] = id;
    }
  } else if (type == "history" && !j.contains("before")) {  // a join's, not a page asked for
    CHAT_CHECK(room_of().is_string() && j.contains("messages") && j["messages"].is_array(), line);
    const std::string room = room_of();
    std::int64_t last = 0;
    for (const auto& m : j["messages"]) {
      CHAT_CHECK(id_of(m) > last, line);
      last = id_of(m);
      s.seen[room] = std::max(s.seen[room], last);
      s.delivered.insert({room, last});
    }
    // A fresh join's history ends at the newest message up to where live messages begin; an
    // empty resume leaves the client where its `since` was, which is not known here.
    if (last == 0 && j.contains("resume")) {
      s.complete_to.erase(room);
    } else {
      s.complete_to[room] = last;
    }
  } else if (type == "dm" || type == "read" || type == "conversation" || type == "conversations" ||
             (type == "ack" && j.contains("with"))) {
    check_private(s, j, line);
  } else if (type == "ack") {
    CHAT_CHECK(room_of().is_string() && id_of(j) > 0 && j.contains("ref") && j["ref"].is_string(),
               line);
    const std::string room = room_of();
    const std::int64_t id = id_of(j);
    auto it = store_.appended.find({room, id});
    CHAT_CHECK(it != store_.appended.end(), "ack of nothing appended: " + line);
    said& w = it->second;
    const bool first = w.ok && w.sender == &s && !w.acked && j["ref"] == w.ref;
    if (!first && w.take_reack(&s, j["ref"])) return;  // a resend's: its message went before
    CHAT_CHECK(w.ok, "ack of a message the store did not report stored: " + line);
    CHAT_CHECK(w.sender == &s, "ack to another client than the one that said it: " + line);
    CHAT_CHECK(!w.acked, "acknowledged twice: " + line);
    CHAT_CHECK(j["ref"] == w.ref, "ack with another ref than " + w.ref + ": " + line);
    w.acked = true;
    // Still in the room since it spoke (no `left`, not closed, not told it misses messages):
    // its message came first (or it said it had it, joining with a `since` past it, or the
    // store dropped it before a join history could carry it).
    if (count(s.lefts, room) == w.lefts_then && count(s.holes, room) == w.holes_then &&
        s.closed == 0)
      CHAT_CHECK_UNLESS(
          "ack-order",
          s.delivered.contains({room, id}) || id <= s.claimed[room] || pruned(room, id),
          "ack before the message itself: " + line);
  }
}

// Private conversations and read marks: signed-in users only, each conversation's messages in
// id order, named after the other user, acknowledged once to their sender.
void harness::check_private(fake_session& s, const json& j, const std::string& line) {
  const std::string type = j["type"];
  CHAT_CHECK(s.signed_in, "to a guest: " + line);
  if (type == "conversations") return;
  const std::string with = string_field(j, "with");
  if (type == "read") {
    CHAT_CHECK(!with.empty() || !string_field(j, "room").empty(), line);
    return;
  }
  CHAT_CHECK(!with.empty() && user_key(with) != s.account, "a conversation with oneself: " + line);
  const std::int64_t id = chat::int_field(j, "id");
  if (type == "dm") {
    CHAT_CHECK(id > s.dm_seen[with], "dm out of order or twice: " + line);
    s.dm_seen[with] = id;
  } else if (type == "ack") {
    const std::string feed = chat::conversations::feed_of(s.account, user_key(with));
    auto it = store_.appended.find({feed, id});
    CHAT_CHECK(it != store_.appended.end(), "ack of nothing appended: " + line);
    said& w = it->second;
    const bool first = w.ok && w.sender == &s && !w.acked && j["ref"] == w.ref;
    if (!first && w.take_reack(&s, j["ref"])) return;  // a resend's
    CHAT_CHECK(first, "wrong ack: " + line);
    w.acked = true;
    CHAT_CHECK(s.dm_seen[with] >= id || s.closed != 0, "ack before its dm: " + line);
  }
}

void harness::on_close(fake_session& s, std::uint16_t code) {
  ++closes;
  TRACE("  -> %d closed %u\n", s.slot, code);
  CHAT_CHECK(!s.detached, "closed a detached session with " + std::to_string(code));
  CHAT_CHECK(code == 1008 || code == 1013 || code == 4000 || code == 4002,
             "close code " + std::to_string(code));
  if (s.closed == 0) s.closed = code;
}

// A room's topic or a user's, subscribed to only by a connection the hub has, once at a time;
// a user's only by a session of that user.
void harness::on_subscribe(fake_session& s, std::string_view topic, bool on) {
  const std::string t(topic);
  TRACE("  -> %d %s %s\n", s.slot, on ? "subscribes to" : "unsubscribes from", t.c_str());
  const std::string room = "chat/room/", user = "chat/user/";
  CHAT_CHECK((t.starts_with(room) && chat::names::valid_room(t.substr(room.size()))) ||
                 (t.starts_with(user) &&
                  t.substr(user.size()) == (s.signed_in ? s.account : chat::names::key(s.nick))),
             "topic " + t + " for " + s.nick);
  CHAT_CHECK(!s.detached, "a detached session (un)subscribes to " + t);
  auto& subs = subscribers_[t];
  if (on) {
    CHAT_CHECK(s.topics.insert(t).second, "subscribed twice to " + t);
    subs.push_back(&s);
  } else {
    CHAT_CHECK(s.topics.erase(t) == 1, "unsubscribed from " + t + " without a subscription");
    std::erase(subs, &s);
  }
}

void harness::publish(std::string_view topic, std::string_view text) {
  auto it = subscribers_.find(topic);
  if (it == subscribers_.end()) return;
  // A copy: the checks of one delivery must not see the list change under them.
  const std::vector<fake_session*> subs = it->second;
  for (fake_session* s : subs)
    on_send(*s, text, false);
}

// ----- the run

chat::hub_limits harness::limits_for(std::uint8_t profile) {
  chat::hub_limits l;
  // Bit 4 of the profile allows one flood from other nodes (see step()), bit 8 signs slots 2
  // and 3 in as one user (see ensure()).
  if (profile & 1) {  // small tables, so that every limit is reached
    l.max_rooms_per_user = 2;
    l.max_members_per_room = 2;
    l.max_rooms = 3;
    l.history_page = 3;
    l.join_history = 2;
    l.max_resume = 4;
    l.max_text_bytes = 64;
    l.max_ref_chars = 8;
  }
  if (!(profile & 2)) l.burst = 1e9;  // the rate limit only when asked for
  return l;
}

harness::harness(const std::uint8_t* data, std::size_t size)
    : in_(data, size), profile_(in_.byte()), limits_(limits_for(profile_)), store_(*this) {
  store_.mode = in_.byte();
  hub_ = std::make_unique<chat::hub>(store_, *this, limits_, [this] { return now_; });
  // The registered users: both signed-in names, and one who never connects. With profile bit
  // 32, ann shows the display name "Annie" (a rename): her account key stays "ann".
  const bool annie = (profile_ & 32) != 0;
  hub_->set_directory({[annie](std::string_view key) -> std::optional<std::string> {
                         if (key == "ann" && annie) return std::string("Annie");
                         if (key == "ann" || key == "bob" || key == "cy") return std::string(key);
                         return std::nullopt;
                       },
                       [annie](std::string_view shown) -> std::optional<std::string> {
                         if (shown == "annie" && annie) return std::string("ann");
                         if ((shown == "ann" && !annie) || shown == "bob" || shown == "cy")
                           return std::string(shown);
                         return std::nullopt;
                       }});
}

std::size_t harness::attached() const {
  std::size_t n = 0;
  for (const auto& sl : slots_)
    n += sl.s != nullptr;
  return n;
}

bool harness::ensure(slot& sl, std::size_t cap) {
  if (sl.s != nullptr) return true;
  if (sessions_.size() >= cap) return false;
  sessions_.push_back(std::make_unique<fake_session>(*this));
  sl.s = sessions_.back().get();
  sl.s->slot = static_cast<int>(&sl - slots_);
  TRACE("%d: attach\n", sl.s->slot);
  // With profile bit 8, slots 2 and 3 are sessions of one signed-in user ("ann") and slot 1
  // another ("bob"), so that one can moderate the other; with bit 16, slot 1 is "bob" alone
  // (conversations between a signed-in user and whoever else is there).
  const bool signed_in =
      ((profile_ & 8) != 0 && sl.s->slot >= 1) || ((profile_ & 16) != 0 && sl.s->slot == 1);
  const char* user = sl.s->slot == 1 ? "bob" : "ann";
  sl.s->signed_in = signed_in;
  sl.s->account = signed_in ? user : "";
  const bool annie = (profile_ & 32) != 0 && sl.s->slot != 1;
  guard("attach", [&] {
    sl.id = sl.s->hub_id = hub_->attach(*sl.s,
                                        !signed_in ? ""
                                        : annie    ? "Annie"
                                                   : user,
                                        signed_in ? user : "");
  });
  return true;
}

// The connection is gone: the hub forgets it and leaves no subscription behind.
void harness::detach(slot& sl) {
  guard("detach", [&] { hub_->detach(sl.id); });
  CHAT_CHECK(sl.s->topics.empty(), "a detached session is still subscribed to " +
                                       (sl.s->topics.empty() ? "" : *sl.s->topics.begin()));
  sl.s->detached = true;
  sl.s = nullptr;
}

// A call that must do nothing at all: a closed or detached client's frames are ignored.
void harness::expect_no_effect(const char* what, const std::function<void()>& f) {
  const auto before = std::make_tuple(sends, closes, store_.calls, store_.queue.size());
  guard(what, f);
  CHAT_CHECK(before == std::make_tuple(sends, closes, store_.calls, store_.queue.size()),
             std::string(what) + " of a closed or gone client had an effect");
}

void harness::send_text(slot& sl, const std::string& text) {
  if (!ensure(sl)) return;
  // What the store is told of this request, to check the ack against.
  const json j = json::parse(text, nullptr, false);
  speaking = sl.s;
  TRACE("%d: %s\n", sl.s->slot, text.c_str());
  speaking_ref = string_field(j, "ref");
  // A join with `since` is the client saying it has seen the room up to there.
  const std::string room = string_field(j, "room");
  if (string_field(j, "type") == "join" && chat::names::valid_room(room) && j.contains("since") &&
      j["since"].is_number_integer() && j["since"].get<std::int64_t>() >= 0) {
    auto& claimed = sl.s->claimed[chat::names::room_key(room)];
    claimed = std::max(claimed, j["since"].get<std::int64_t>());
  }
  if (sl.s->closed != 0) {
    expect_no_effect("receive", [&] { hub_->receive(sl.id, text); });
  } else {
    guard("receive", [&] { hub_->receive(sl.id, text); });
  }
  speaking = nullptr;
}

json harness::odd() {
  switch (in_.below(10)) {
    case 0:
      return nullptr;
    case 1:
      return true;
    case 2:
      return 7;
    case 3:
      return -3;
    case 4:
      return 2.5;
    case 5:
      return json::array({"r0"});
    case 6:
      return json::object({{"room", "r0"}});
    case 7:
      return std::numeric_limits<std::uint64_t>::max();
    case 8:
      return std::int64_t{1} << 62;
    default:
      return "";
  }
}

json harness::room_value() {
  const std::uint8_t b = in_.byte();
  if (b < 200) return client_rooms()[b % client_rooms().size()];
  if (b < 230) return odd();
  return valid_utf8(in_.bytes(40));
}

json harness::text_value() {
  switch (in_.below(10)) {
    case 0:
      return "";
    case 1:
      return std::string(limits_.max_text_bytes, 'x');
    case 2:
      return std::string(limits_.max_text_bytes + 1, 'x');
    case 3:
      return repeat("\xF0\x9F\x98\x80", 3);
    case 4:
      return odd();
    case 5:
    case 6:
      return valid_utf8(in_.bytes(64));
    default:
      return "hi";
  }
}

json harness::since_value(const json& room) {
  std::int64_t base = 0;
  // Around what some client saw of the room: the resumes that can succeed or just fail.
  if (room.is_string()) {
    const fake_session* s = slots_[in_.below(slots)].s;
    const std::string name = chat::names::room_key(room.get<std::string>());
    if (s != nullptr && s->seen.count(name)) base = s->seen.at(name);
  }
  switch (in_.below(12)) {
    case 0:
      return odd();
    case 1:
      return 0;
    case 2:
      return 1;
    case 3:
      return base - 1;
    case 4:
      return base + 1;
    case 5:
      return base + 5;
    case 6:
      return std::int64_t{1} << 40;
    case 7:
      return -1;
    default:
      return base;
  }
}

// A ref, including those whose first 64 (or 8) bytes end inside a character. Returns a stand-in
// to swap for raw JSON text when the ref is a lone surrogate escape.
std::string harness::ref_value(json& j) {
  const std::size_t max = limits_.max_ref_chars;
  switch (in_.below(14)) {
    case 0:
      return {};  // no ref
    case 1:
      j["ref"] = std::string(max, 'a');
      break;
    case 2:
      j["ref"] = std::string(max + 1, 'a');
      break;
    case 3:
      j["ref"] = repeat("\xC3\xA9", max);
      break;
    case 4:
      j["ref"] = repeat("\xC3\xA9", max + 1);
      break;
    case 5:
      j["ref"] = std::string(max - 1, 'a') + "\xC3\xA9";
      break;
    case 6:
      j["ref"] = repeat("\xF0\x9F\x98\x80", max);
      break;
    case 7:
      j["ref"] = std::string(max - 2, 'a') + "\xE2\x82\xAC\xE2\x82\xAC";
      break;
    case 8:
      j["ref"] = odd();
      break;
    case 9:
      j["ref"] = valid_utf8(in_.bytes(80));
      break;
    case 10:
      j["ref"] = "@lone@";
      return "\"\\ud83d\"";
    case 12:  // with a client id, which a later say may repeat (a resend)
      j["ref"] = "m" + std::to_string(in_.byte());
      j["cid"] = "c" + std::to_string(in_.byte() % 8);
      break;
    case 13:  // a client id the hub refuses: too long, a space, not ASCII, not a string
      switch (in_.byte() % 4) {
        case 0:
          j["cid"] = std::string(65, 'c');
          break;
        case 1:
          j["cid"] = "c d";
          break;
        case 2:
          j["cid"] = odd();
          break;
        default:
          j["cid"] = 7;
          break;
      }
      break;
    default:
      j["ref"] = "m" + std::to_string(in_.byte());
      break;
  }
  return {};
}

void harness::request(slot& sl, std::uint8_t kind) {
  if (!ensure(sl)) return;
  json j = json::object();
  static const char* const types[] = {"hello", "join",    "leave",  "say",
                                      "dm",    "history", "typing", "rooms"};
  // "dm" stands for every request of conversations and read marks (hub_private.cpp,
  // hub_read.cpp), "rooms" for the directory and moderation requests (hub_moderation*.cpp).
  static const char* const privates[] = {"dm", "conversation", "read", "conversations", "history"};
  static const char* const room_types[] = {"rooms", "create", "invite", "kick",    "ban",
                                           "unban", "mute",   "delete", "promote", "topic"};
  std::string type = types[kind % 8];
  const bool private_kind = type == "dm";
  if (private_kind) type = privates[in_.below(5)];
  if (kind % 8 == 7) type = room_types[in_.below(10)];
  // Now and then a type of another kind, or none, or one the protocol does not know.
  switch (in_.below(32)) {
    case 0:
      break;
    case 1:
      j["type"] = odd();
      break;
    case 2:
      j["type"] = "shout";
      break;
    default:
      j["type"] = type;
  }
  std::string lone;
  if (type == "hello") {
    const std::uint8_t b = in_.byte();
    j["nick"] = b < 240 ? json(nicks()[b % nicks().size()]) : json(valid_utf8(in_.bytes(40)));
    const std::uint8_t t = in_.byte();
    const fake_session* other = slots_[t % slots].s;
    // The token another connection was welcomed with: the takeover after a reconnect.
    if (t < 128 && other != nullptr && !other->token.empty())
      j["token"] = other->token;
    else if (t < 160)
      j["token"] = "0123";
    else if (t < 176)
      j["token"] = odd();
  } else if (type == "join") {
    j["room"] = room_value();
    if (in_.byte() & 1) j["since"] = since_value(j["room"]);
  } else if (type == "leave" || type == "typing") {
    j["room"] = room_value();
  } else if (type == "say") {
    j["room"] = room_value();
    j["text"] = text_value();
    lone = ref_value(j);
  } else if (private_kind) {
    const std::uint8_t b = in_.byte();
    const fake_session* other = slots_[b % slots].s;
    if (b & 1)
      j["with"] =
          b < 128 && other != nullptr ? json(other->nick) : json(nicks()[b % nicks().size()]);
    else if (b & 2)
      j["room"] = room_value();
    else if (b & 4)
      j["with"] = odd();
    if (type == "dm") {
      j["text"] = text_value();
      lone = ref_value(j);
    } else if (type != "conversations") {
      const char* key = type == "conversation" ? "since" : type == "read" ? "id" : "before";
      if ((b & 8) == 0) j[key] = b & 16 ? odd() : json(static_cast<int>(in_.below(12)) - 1);
    }
  } else if (type == "rooms" || type == "create" || type == "topic") {
    j["room"] = room_value();
    if (in_.byte() & 1) j["q"] = text_value();
    if (in_.byte() & 1) j["topic"] = text_value();
    if (in_.byte() & 1) j["invite_only"] = (in_.byte() & 1) ? json(true) : odd();
  } else if (type == "invite" || type == "kick" || type == "ban" || type == "unban" ||
             type == "mute" || type == "delete" || type == "promote") {
    j["room"] = room_value();
    const std::uint8_t b = in_.byte();
    const fake_session* other = slots_[b % slots].s;
    j["user"] = b < 128 && other != nullptr ? json(other->nick)
                : b < 240                   ? json(nicks()[b % nicks().size()])
                                            : odd();
    if (type == "mute") j["seconds"] = since_value(j["room"]);
    if (type == "delete") j["id"] = since_value(j["room"]);
    if (type == "promote") j["role"] = (b & 1) ? json("moderator") : json("member");
  } else if (type == "history") {
    j["room"] = room_value();
    const std::uint8_t b = in_.byte();
    if (b & 1) j["before"] = since_value(j["room"]);
    if (b & 2) j["limit"] = (b & 4) ? odd() : json(static_cast<int>(in_.below(8)) - 1);
  }
  std::string text = j.dump(-1, ' ', (in_.byte() & 1) != 0, json::error_handler_t::replace);
  if (!lone.empty()) {
    const auto at = text.find("\"@lone@\"");
    if (at != std::string::npos) text.replace(at, 8, lone);
  }
  send_text(sl, text);
}

void harness::step() {
  const std::uint8_t op = in_.byte();
  slot& sl = slots_[in_.below(slots)];
  switch (op % 24) {
    case 0:
      ensure(sl);
      break;
    case 1:
      if (sl.s != nullptr) {
        TRACE("%d: detach\n", sl.s->slot);
        detach(sl);
      }
      break;
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
      request(sl, static_cast<std::uint8_t>(op % 24 - 2));
      break;
    case 10:
      send_text(sl, valid_utf8(in_.bytes(200)));
      break;
    case 11:
      if (!ensure(sl)) break;
      TRACE("%d: binary\n", sl.s->slot);
      if (sl.s->closed != 0) {
        expect_no_effect("receive_binary", [&] { hub_->receive_binary(sl.id); });
      } else {
        guard("receive_binary", [&] { hub_->receive_binary(sl.id); });
      }
      break;
    case 12: {
      static const std::int64_t steps[] = {1, 199, 200, 1999, 2000, 4000, 60'000, 3'600'000};
      now_ += steps[in_.below(8)];
      TRACE("clock %lld\n", static_cast<long long>(now_));
      break;
    }
    case 13: {
      const std::size_t index = in_.byte();
      store_.run(index, in_.byte());
      break;
    }
    case 14:  // the store catches up as SQLite's does: in order, each message published first
      for (int i = 0; i < 64 && !store_.queue.empty(); ++i)
        store_.run(0, 0x83);
      break;
    case 15: {
      const std::size_t room = in_.byte();
      const bool lose = (in_.byte() & 7) == 0;
      guard("on_message", [&] { store_.feed_step(room, lose); });
      break;
    }
    case 16: {
      const std::uint8_t b = in_.byte();
      if ((b & 0xEC) == 0x40 && (profile_ & 4) && floods_++ == 0) {
        // Other nodes flood the room, published at once: more than a client still reading its
        // join history may have waiting (it is closed with 1013). A thousand broadcasts are
        // slow under the sanitizers: once per input, and only in inputs that ask for it.
        const std::string room = pick_room(b);
        for (int i = 0; i < 1001; ++i)
          store_.remote_say(room, 0, "zed", "flood");
        guard("on_message", [&] { store_.publish(room, store_.logs[room].last); });
        break;
      }
      // Another node's member; a store might hold text that is not UTF-8.
      std::string text = b & 0x10 ? in_.bytes(16) : std::string("from afar");
      if (text.empty()) text = "x";
      store_.remote_say(pick_room(b), (b >> 5) % 4 == 3 ? 1 : 0, b & 0x80 ? "ann" : "zed",
                        std::move(text));
      break;
    }
    case 17:
      guard("on_resync", [&] { store_.resync(in_.byte() & 1); });
      break;
    case 18:
      store_.mode = in_.byte();
      TRACE("store: mode %u\n", store_.mode);
      break;
    case 19: {
      const std::uint8_t b = in_.byte();
      store_.prune(pick_room(b), 1 + (b >> 4) % 4);  // the newest message always stays
      break;
    }
    case 20: {
      const std::uint8_t b = in_.byte();
      const std::string room = pick_room(b);
      const std::string nick = b & 0x10 ? "zed" : "ann";
      const bool joined = (b & 0x20) != 0;
      if (joined) {
        store_.remote[room].insert(nick);
      } else {
        store_.remote[room].erase(nick);
      }
      guard("on_presence", [&] { store_.presence(room, nick, joined); });
      break;
    }
    case 21:
      if (sl.s != nullptr) sl.s->refuse_droppable = !sl.s->refuse_droppable;
      break;
    case 22: {  // frames for a connection the hub was told is gone, or never had
      const std::size_t k = in_.below(sessions_.size() + 1);
      const bool stale = k < sessions_.size() && sessions_[k]->detached;
      const std::uint64_t id = stale ? sessions_[k]->hub_id : 1'000'000;
      expect_no_effect("receive", [&] { hub_->receive(id, "{\"type\":\"rooms\"}"); });
      expect_no_effect("receive_binary", [&] { hub_->receive_binary(id); });
      break;
    }
    default:
      request(sl, in_.byte());
      break;
  }
  CHAT_CHECK(hub_->clients() == attached(), "clients() is " + std::to_string(hub_->clients()));
  CHAT_CHECK(hub_->rooms() <= limits_.max_rooms, "rooms() is " + std::to_string(hub_->rooms()));
}

// The store recovers and answers everything, publishing all it stored; a lost feed ends with
// on_resync, as the contract says.
void harness::quiesce() {
  const std::uint8_t healthy = fake_store::members_queued;
  store_.mode = healthy;
  for (int round = 0; round < 4; ++round) {
    for (std::size_t n = 0; !store_.queue.empty() || store_.feed_pending(); ++n) {
      FUZZ_CHECK(n < 100'000);  // the hub keeps asking the store for more: a loop
      if (!store_.queue.empty()) {
        store_.run(0, 3);
      } else {
        guard("on_message", [&] { store_.feed_step(0, false); });
      }
    }
    // A fill that failed is retried by nothing but the next message or on_resync; with the
    // finding tolerated, the store says it is back as it would after an outage.
    if (!store_.lost && (round > 0 || !tolerated("fill-retry"))) break;
    guard("on_resync", [&] { store_.resync(false); });
  }
}

void harness::finish() {
  quiesce();
  // Every say the store reported stored has been acknowledged to its client if it is still in
  // the room: one that left (or was replaced) finds its text in the history instead
  // (docs/chat-protocol.md).
  for (const auto& [key, w] : store_.appended)
    if (w.ok && !w.sender->detached && w.sender->closed != 4000 &&
        count(w.sender->lefts, w.room) == w.lefts_then)
      CHAT_CHECK_UNLESS(
          "ack-lost", w.acked,
          "no ack for " + key.first + " #" + std::to_string(key.second) + " with the store quiet");
  for (auto& sl : slots_) {
    if (sl.s == nullptr) continue;
    detach(sl);
  }
  quiesce();
  CHAT_CHECK(hub_->clients() == 0, "clients() is " + std::to_string(hub_->clients()));
  CHAT_CHECK(hub_->users() == 0, "users() is " + std::to_string(hub_->users()));
  CHAT_CHECK(hub_->conversations() == 0,
             "conversations() is " + std::to_string(hub_->conversations()));
  if (hub_->rooms() != 0 && tolerated("room-leak")) sweep();
  CHAT_CHECK(hub_->rooms() == 0, "rooms() is " + std::to_string(hub_->rooms()) +
                                     " with every client gone and the store quiet");
}

// With the leak tolerated: a join and a leave of every room, which frees a room left behind
// unless something else still holds it.
void harness::sweep() {
  slot& sl = slots_[0];
  for (const auto& room : store_rooms()) {
    if (!ensure(sl, max_sessions + store_rooms().size())) return;
    TRACE("sweep %s\n", room.c_str());
    send_text(sl, to_wire_text(json{{"type", "hello"}, {"nick", "sweeper"}}));
    send_text(sl, to_wire_text(json{{"type", "join"}, {"room", room}}));
    quiesce();
    send_text(sl, to_wire_text(json{{"type", "leave"}, {"room", room}}));
    detach(sl);
    quiesce();
  }
}

void harness::run() {
  for (std::size_t ops = 0; !in_.done() && ops < 2000; ++ops)
    step();
  finish();
}

}  // namespace
}  // namespace duplex::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duplex::fuzz::harness h(data, size);
  h.run();
  return 0;
}
