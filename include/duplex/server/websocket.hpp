// The handle an application holds for one server-side WebSocket, valid from on_open to on_close.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "duplex/net/send_result.hpp"
#include "duplex/ws/types.hpp"

namespace duplex {

namespace net {
class event_loop;
}

class websocket {
 public:
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;

  // Whole messages. Sends made while a callback of this socket runs are batched and written
  // once the callback returns (one syscall for many replies).
  send_result send(std::string_view data, ws::opcode op = ws::opcode::text);
  // With permessage-deflate on, `compress` false sends this one message uncompressed.
  send_result send(std::string_view data, ws::opcode op, bool compress);
  send_result send_text(std::string_view data) { return send(data, ws::opcode::text); }
  send_result send_binary(std::string_view data) { return send(data, ws::opcode::binary); }
  // A message in pieces; `op` of the first piece names its type.
  send_result send_fragment(std::string_view data, ws::opcode op, bool fin);
  bool ping(std::string_view data = {});
  // Starts the close handshake; on_close follows when the peer answers or the timer ends.
  void close(ws::close_code code = ws::close_code::normal, std::string_view reason = {});
  // Drops the TCP connection now (on_close sees 1006).
  void terminate();

  std::size_t buffered_amount() const noexcept;
  ws::state state() const noexcept;

  // Pub/sub on this socket's loop. publish() reaches every subscriber but this socket.
  bool subscribe(std::string_view topic);
  bool unsubscribe(std::string_view topic);
  bool is_subscribed(std::string_view topic) const;
  void publish(std::string_view topic, std::string_view data, ws::opcode op = ws::opcode::text);

  std::string_view path() const noexcept;
  // The subprotocol agreed in the handshake (empty if none).
  std::string_view subprotocol() const noexcept;
  std::string remote_address() const;
  net::event_loop& loop() const noexcept;

  // Per-socket user data, destroyed with the socket. data<T>() is null if another type is held.
  template <class T, class... Args>
  T& emplace_data(Args&&... args) {
    auto* fresh = new typed_box<T>(std::forward<Args>(args)...);
    reset_data();
    box_ = fresh;
    return fresh->value;
  }
  template <class T>
  T* data() const noexcept {
    return box_ && box_->type == &type_tag<T> ? &static_cast<typed_box<T>*>(box_)->value : nullptr;
  }

 protected:
  websocket() = default;
  ~websocket() { reset_data(); }

 private:
  template <class T>
  static inline const char type_tag = 0;
  // The data with its type and its destructor in one allocation: a socket without data holds
  // one null pointer.
  struct box {
    explicit box(const void* t) noexcept : type(t) {}
    virtual ~box() = default;
    const void* type;
  };
  template <class T>
  struct typed_box final : box {
    template <class... Args>
    explicit typed_box(Args&&... args) : box(&type_tag<T>), value(std::forward<Args>(args)...) {}
    T value;
  };
  void reset_data() noexcept {
    delete box_;
    box_ = nullptr;
  }

  box* box_ = nullptr;
};

}  // namespace duplex
