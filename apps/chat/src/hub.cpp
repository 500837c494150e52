#include "hub.hpp"

#include <chrono>

namespace duplex::chat {
namespace {

std::int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

hub::hub(store& s, publisher& topics, hub_limits limits, clock now, room_directory* rooms)
    : store_(s),
      own_directory_(rooms == nullptr ? std::make_unique<memory_directory>() : nullptr),
      dir_(rooms != nullptr ? *rooms : *own_directory_),
      topics_(topics),
      limits_(limits),
      now_(now ? std::move(now) : clock(system_ms)) {
  store_.set_listener(this);
}

hub::~hub() {
  if (store_.listener() == this) store_.set_listener(nullptr);
}

std::string hub::topic_of(std::string_view room_name) {
  return "chat/room/" + std::string(room_name);
}

hub::client* hub::find_client(std::uint64_t id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

std::uint64_t hub::attach(session& s, std::string signed_in, std::string account) {
  const std::uint64_t id = next_id_++;
  client& c = clients_[id];
  c.id = id;
  c.s = &s;
  c.signed_in = std::move(signed_in);
  c.account = std::move(account);
  c.bucket = token_bucket(limits_.rate_per_second, limits_.burst, now_());
  c.signals = token_bucket(limits_.signal_rate_per_second, limits_.signal_burst, now_());
  return id;
}

void hub::detach(std::uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  client& c = it->second;
  while (!c.rooms.empty())
    leave_room(c, *c.rooms.begin(), false);
  drop_session(c);
  clients_.erase(it);
}

void hub::receive_binary(std::uint64_t id) {
  client* c = find_client(id);
  if (c == nullptr || c->closing) return;
  ++counters_.messages_in;
  // Every frame counts against the bucket, so answering this one cannot be used as a flood.
  if (!take_token(*c)) return;
  error(*c, "text_only", "send JSON as text");
}

void hub::receive(std::uint64_t id, std::string_view text) {
  client* c = find_client(id);
  if (c == nullptr || c->closing) return;
  ++counters_.messages_in;
  counters_.bytes_in += text.size();
  // Parsed before the token is taken, so that a send refused for its rate carries its cid back:
  // the page then returns the text to its composer instead of showing it pending forever.
  auto body = wire::request::parse(text);
  std::string type = body ? body->type() : std::string();
  const bool signal = type == "read" || type == "typing";
  if (!(signal ? take_signal_token(*c) : take_token(*c, body ? &*body : nullptr))) return;
  if (!body) return error(*c, "bad_json", "each message must be one JSON object");
  const request r{id, std::move(*body), std::move(type)};
  dispatch(*c, r);
}

bool hub::take_token(client& c, const wire::request* body) {
  // Before its hello a connection has its own bucket; from then on the user's, so a user's
  // rate is the same with one tab or ten.
  user* u = user_of(c);
  const auto verdict = (u != nullptr ? u->bucket : c.bucket).take(now_());
  if (verdict == token_bucket::verdict::pass) return true;
  ++counters_.rate_limited;
  // Refused with an error while the debt grows; a client that keeps flooding until the debt
  // reaches the burst size is closed.
  if (verdict == token_bucket::verdict::close) {
    c.closing = true;
    c.s->close(ws::close_code::policy_violation, "flood");
    return false;
  }
  const std::string cid = body != nullptr ? body->str("cid") : std::string();
  if (cid.empty() || !wire::valid_cid(cid, limits_.max_cid_chars)) {
    error(c, "rate_limited", "slow down");
  } else if (body->type() == "dm") {
    ++counters_.errors;
    send(c,
         wire::dm_error("rate_limited", "slow down, then send it again", body->str("with"), cid));
  } else {
    ++counters_.errors;
    send(c, wire::error("rate_limited", "slow down, then send it again", body->str("room"), cid));
  }
  return false;
}

bool hub::take_signal_token(client& c) {
  user* u = user_of(c);
  const auto verdict = (u != nullptr ? u->signals : c.signals).take(now_());
  if (verdict == token_bucket::verdict::pass) return true;
  ++counters_.rate_limited;
  if (verdict == token_bucket::verdict::close) {
    c.closing = true;
    c.s->close(ws::close_code::policy_violation, "flood");
  }
  return false;
}

void hub::dispatch(client& c, const request& r) {
  if (r.type == "hello") return on_hello(c, r);
  if (c.nick.empty()) return error(c, "hello_first", "choose a nickname first");
  if (!c.welcomed) return error(c, "not_ready", "wait for the welcome");
  if (r.type == "join") return on_join(c, r);
  if (r.type == "leave") return on_leave(c, r);
  if (r.type == "say") return on_say(c, r);
  if (r.type == "typing") return on_typing(c, r);
  if (r.type == "history" && !r.str("with").empty()) return on_private_history(c, r);
  if (r.type == "history") return on_history(c, r);
  if (r.type == "dm") return on_dm(c, r);
  if (r.type == "conversation") return on_conversation(c, r);
  if (r.type == "conversations") return on_conversations(c);
  if (r.type == "read") return on_read(c, r);
  if (r.type == "search") return on_search(c, r);
  if (r.type == "around") return on_around(c, r);
  if (r.type == "edit" || r.type == "retract" || r.type == "react") return on_event(c, r);
  if (is_room_request(r.type)) return on_room_request(c, r);
  error(c, "unknown_type", "unknown message type");
}

void hub::send(client& c, const std::string& out, bool droppable) {
  if (!c.s->send(out, droppable)) {
    ++counters_.dropped;
    return;
  }
  ++counters_.messages_out;
  counters_.bytes_out += out.size();
}

void hub::error(client& c, std::string_view code, std::string_view message,
                std::string_view room_name) {
  ++counters_.errors;
  send(c, wire::error(code, message, room_name));
}

}  // namespace duplex::chat
