#include "redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace duplex::chat {

redis_options parse_redis_url(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("expected redis://host[:port], got " + url);
  std::string rest = url.substr(scheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  redis_options o;
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
        std::stoul(port) > 65535)
      throw std::invalid_argument("bad port in " + url);
    o.port = static_cast<std::uint16_t>(std::stoul(port));
    rest.resize(colon);
  }
  if (rest.empty()) throw std::invalid_argument("no host in " + url);
  o.host = rest;
  return o;
}

redis_link::redis_link(net::event_loop& loop, redis_options opts)
    : loop_(loop), opts_(std::move(opts)), backoff_(opts_.min_backoff) {}

redis_link::~redis_link() {
  stopping_ = true;
  if (retry_ != 0) loop_.cancel_timer(retry_);
  if (ac_ != nullptr) redisAsyncFree(ac_);  // pending replies are dropped without a call
}

void redis_link::start() {
  connect();
}

void redis_link::connect() {
  ac_ = redisAsyncConnect(opts_.host.c_str(), opts_.port);
  if (ac_ == nullptr || ac_->err) {
    if (ac_ != nullptr) redisAsyncFree(ac_);
    ac_ = nullptr;
    return lost();
  }
  ac_->data = this;
  fd_ = ac_->c.fd;
  ac_->ev.data = this;
  ac_->ev.addRead = add_read;
  ac_->ev.delRead = del_read;
  ac_->ev.addWrite = add_write;
  ac_->ev.delWrite = del_write;
  ac_->ev.cleanup = cleanup;
  redisAsyncSetDisconnectCallback(ac_, on_disconnect);
  // Also asks for the first writability, which tells that the connect finished.
  redisAsyncSetConnectCallback(ac_, on_connect);
}

// Forgets the context (hiredis frees it) and tries again after a growing delay.
void redis_link::lost() {
  const bool was_up = connected_;
  connected_ = false;
  ac_ = nullptr;
  // The server forgot the subscriptions with the connection: the wanted ones are sent again.
  for (auto it = subs_.begin(); it != subs_.end();) {
    it->second.live = sub::off;
    it = it->second.wanted ? std::next(it) : subs_.erase(it);
  }
  if (stopping_) return;
  if (was_up && on_state) on_state(false);
  if (retry_ != 0) return;
  retry_ = loop_.add_timer(backoff_, [this] {
    retry_ = 0;
    connect();
  });
  backoff_ = std::min(backoff_ * 2, opts_.max_backoff);
}

// hiredis is C: an exception must not unwind through its frames. Each of its callbacks into
// our code stops one here and reports it to the loop, as if it had reached the loop itself.
template <class F>
void redis_link::guard(F&& f) noexcept {
  try {
    f();
  } catch (...) {
    loop_.report_exception(std::current_exception());
  }
}

void redis_link::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<redis_link*>(ac->data);
  self->guard([&] {
    if (status != REDIS_OK) return self->lost();  // hiredis frees the context after this
    self->connected_ = true;
    ++self->connections_;
    self->backoff_ = self->opts_.min_backoff;
    if (self->on_message_) self->send_subscribe();
    if (self->on_state) self->on_state(true);
  });
}

void redis_link::on_disconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<redis_link*>(ac->data);
  self->guard([&] { self->lost(); });
}

bool redis_link::command(const std::vector<std::string>& argv, reply_fn reply) {
  if (!connected_ || ac_ == nullptr || in_flight_ >= max_in_flight) return false;
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* holder = new reply_fn(std::move(reply));
  if (redisAsyncCommandArgv(ac_, on_reply, holder, static_cast<int>(argv.size()), ptrs.data(),
                            lens.data()) != REDIS_OK) {
    delete holder;
    return false;
  }
  ++in_flight_;
  return true;
}

void redis_link::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<reply_fn> fn(static_cast<reply_fn*>(privdata));
  auto* self = static_cast<redis_link*>(ac->data);
  --self->in_flight_;
  // A link being destroyed calls nobody back: its owner may be half gone already.
  if (*fn && !self->stopping_) self->guard([&] { (*fn)(static_cast<const redisReply*>(reply)); });
}

void redis_link::subscribe(std::vector<std::string> channels, message_fn on_message) {
  on_message_ = std::move(on_message);
  for (auto& c : channels)
    subs_[c].wanted = true;
  if (connected_) send_subscribe();
}

void redis_link::listen(const std::string& channel, bool on) {
  auto it = subs_.find(channel);
  if (it == subs_.end()) {
    if (!on) return;
    it = subs_.emplace(channel, sub_state{}).first;
  }
  it->second.wanted = on;
  reconcile(channel);
}

bool redis_link::listening(std::string_view channel) const {
  auto it = subs_.find(channel);
  return it != subs_.end() && it->second.wanted && it->second.live == sub::on;
}

bool redis_link::wants(std::string_view channel) const {
  auto it = subs_.find(channel);
  return it != subs_.end() && it->second.wanted;
}

// Every wanted channel in one command, on a fresh connection.
void redis_link::send_subscribe() {
  std::vector<std::string> wanted;
  for (auto& [name, s] : subs_)
    if (s.wanted) {
      wanted.push_back(name);
      s.live = sub::asking;
    }
  if (!wanted.empty()) send_sub("SUBSCRIBE", wanted);
}

void redis_link::send_sub(const char* verb, const std::vector<std::string>& channels) {
  std::vector<const char*> ptrs{verb};
  std::vector<std::size_t> lens{std::string_view(verb).size()};
  for (const auto& c : channels) {
    ptrs.push_back(c.data());
    lens.push_back(c.size());
  }
  // (UN)SUBSCRIBE's answers come to each channel's callback, this one, not as replies.
  redisAsyncCommandArgv(ac_, on_pubsub, this, static_cast<int>(ptrs.size()), ptrs.data(),
                        lens.data());
}

// Brings the channel's subscription towards what is wanted, unless an answer is still owed.
void redis_link::reconcile(const std::string& channel) {
  auto it = subs_.find(channel);
  if (it == subs_.end()) return;
  sub_state& s = it->second;
  if (!s.wanted && s.live == sub::off) {
    subs_.erase(it);
    return;
  }
  if (!connected_ || ac_ == nullptr || !on_message_) return;  // sent on the next connection
  if (s.wanted && s.live == sub::off) {
    s.live = sub::asking;
    send_sub("SUBSCRIBE", {channel});
  } else if (!s.wanted && s.live == sub::on) {
    s.live = sub::leaving;
    send_sub("UNSUBSCRIBE", {channel});
  }
}

void redis_link::on_sub_reply(std::string_view kind, const std::string& channel) {
  auto it = subs_.find(channel);
  if (it == subs_.end()) return;
  if (kind == "subscribe") {
    it->second.live = sub::on;
    if (it->second.wanted) {
      if (on_subscribed) on_subscribed(channel);
      return;
    }
  } else {
    it->second.live = sub::off;
  }
  reconcile(channel);
}

// One callback for the whole subscription: hiredis calls it for every message, and for each
// channel's (un)subscription.
void redis_link::on_pubsub(redisAsyncContext*, void* reply, void* privdata) {
  const auto* r = static_cast<const redisReply*>(reply);
  auto* self = static_cast<redis_link*>(privdata);
  if (self->stopping_ || r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 3) return;
  const redisReply* kind = r->element[0];
  const redisReply* ch = r->element[1];
  if (kind->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING) return;
  const std::string_view k(kind->str, kind->len);
  if (k == "subscribe" || k == "unsubscribe")
    return self->guard([&] { self->on_sub_reply(k, std::string(ch->str, ch->len)); });
  if (k != "message") return;
  const redisReply* payload = r->element[2];
  ++self->messages_received_;
  self->bytes_received_ += ch->len + payload->len;
  if (self->on_message_)
    self->guard([&] {
      self->on_message_(std::string_view(ch->str, ch->len),
                        std::string_view(payload->str, payload->len));
    });
}

void redis_link::on_io(net::io_events events) {
  // Either call may free the context (a lost connection): re-check before the next.
  if (ac_ != nullptr &&
      has(events, net::io_events::writable | net::io_events::error | net::io_events::hangup))
    redisAsyncHandleWrite(ac_);
  if (ac_ != nullptr && net::read_ready(events)) redisAsyncHandleRead(ac_);
}

void redis_link::watch(net::io_events events) {
  if (events == events_ || fd_ < 0) return;
  if (events_ == net::io_events::none) {
    loop_.add(fd_, events, this);
  } else if (events == net::io_events::none) {
    loop_.remove(fd_);
  } else {
    loop_.modify(fd_, events, this);
  }
  events_ = events;
}

// hiredis calls these from inside its own functions: epoll_ctl failing must not throw there.
void redis_link::add_read(void* self) {
  auto* l = static_cast<redis_link*>(self);
  l->guard([l] { l->watch(l->events_ | net::io_events::readable); });
}
void redis_link::del_read(void* self) {
  auto* l = static_cast<redis_link*>(self);
  l->guard([l] { l->watch(without(l->events_, net::io_events::readable)); });
}
void redis_link::add_write(void* self) {
  auto* l = static_cast<redis_link*>(self);
  l->guard([l] { l->watch(l->events_ | net::io_events::writable); });
}
void redis_link::del_write(void* self) {
  auto* l = static_cast<redis_link*>(self);
  l->guard([l] { l->watch(without(l->events_, net::io_events::writable)); });
}
void redis_link::cleanup(void* self) {
  auto* l = static_cast<redis_link*>(self);
  l->guard([l] { l->watch(net::io_events::none); });
  l->fd_ = -1;
}

}  // namespace duplex::chat
