// The hub's view of the server: one connection (a session), and the topics that carry what a
// whole room receives. main.cpp implements both on duplex's WebSockets and pub/sub.
#pragma once

#include <cstdint>
#include <string_view>

#include "duplex/ws/close_code.hpp"

namespace duplex::chat {

// One connection.
class session {
 public:
  virtual ~session() = default;
  // What this connection alone receives. `droppable`: may be skipped when the peer reads slowly
  // (typing indicators). Returns false when the message was not queued.
  virtual bool send(std::string_view json, bool droppable) = 0;
  virtual void close(ws::close_code code, std::string_view reason) = 0;
  // From subscribe to unsubscribe, the connection also receives what is published to `topic`,
  // in order with what send() gives it.
  virtual void subscribe(std::string_view topic) = 0;
  virtual void unsubscribe(std::string_view topic) = 0;
};

// 4000: the name's guest connection went to a newer connection (its token proved it).
inline constexpr ws::close_code close_replaced = ws::application_code(0);
// 4001: the session this connection signed in with ended (sign-out, revoked, password changed,
// banned): the page asks to sign in again rather than reconnecting.
inline constexpr ws::close_code close_signed_out = ws::application_code(1);
// 4002: a guest's name was claimed by the registered user it belongs to.
inline constexpr ws::close_code close_name_claimed = ws::application_code(2);

// Fan-out: a message published to a topic is framed once and queued to every subscriber.
class publisher {
 public:
  virtual ~publisher() = default;
  virtual void publish(std::string_view topic, std::string_view json) = 0;
};

}  // namespace duplex::chat
