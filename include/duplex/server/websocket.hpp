// The handle an application holds for one server-side WebSocket, valid from on_open to on_close.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "duplex/net/send_result.hpp"
#include "duplex/server/socket_handle.hpp"
#include "duplex/ws/types.hpp"

namespace duplex {

namespace net {
class event_loop;
}

/// @brief One server-side WebSocket, valid from on_open to on_close, owned by its loop.
class websocket {
 public:
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;

  /// Whole messages. Sends made while a callback of this socket runs are batched and written
  /// once the callback returns (one syscall for many replies).
  send_result send(std::string_view data, ws::opcode op = ws::opcode::text);
  /// With permessage-deflate on, `compress` false sends this one message uncompressed.
  send_result send(std::string_view data, ws::opcode op, bool compress);
  /// send(data, text).
  send_result send_text(std::string_view data) { return send(data, ws::opcode::text); }
  /// send(data, binary).
  send_result send_binary(std::string_view data) { return send(data, ws::opcode::binary); }
  /// A message in pieces; `op` of the first piece names its type.
  send_result send_fragment(std::string_view data, ws::opcode op, bool fin);
  /// Sends a ping (at most 125 bytes); false when the socket cannot send.
  bool ping(std::string_view data = {});
  /// Starts the close handshake; on_close follows when the peer answers or the timer ends.
  void close(ws::close_code code = ws::close_code::normal, std::string_view reason = {});
  /// Drops the TCP connection now (on_close sees 1006).
  void terminate();

  /// Bytes queued for the peer and not yet taken by the kernel.
  std::size_t buffered_amount() const noexcept;
  /// Open, closing (our close frame sent) or closed.
  ws::state state() const noexcept;

  /// Pub/sub on this socket's loop: joins `topic`; false when the socket cannot send.
  bool subscribe(std::string_view topic);
  /// Leaves `topic`; false if not subscribed.
  bool unsubscribe(std::string_view topic);
  /// Whether this socket is subscribed to `topic`.
  bool is_subscribed(std::string_view topic) const;
  /// Sends to every subscriber of `topic` on every loop, except this socket.
  void publish(std::string_view topic, std::string_view data, ws::opcode op = ws::opcode::text);

  /// The path of the route this socket came in on.
  std::string_view path() const noexcept;
  /// The subprotocol agreed in the handshake (empty if none).
  std::string_view subprotocol() const noexcept;
  /// The client's address, "203.0.113.7:50000" or "[2001:db8::1]:50000": the TCP peer, or what a
  /// trusted proxy reported (server_options::trusted_proxies); "?" once the socket is closed.
  std::string remote_address() const;
  /// The loop this socket belongs to.
  net::event_loop& loop() const noexcept;
  /// A copyable handle through which any thread may send to this socket (socket_handle.hpp).
  /// The websocket itself belongs to its loop: its other calls, made from another thread,
  /// throw std::logic_error.
  socket_handle handle();

  /// Per-socket user data, destroyed with the socket. data<T>() is null if another type is held.
  template <class T, class... Args>
  T& emplace_data(Args&&... args) {
    auto* fresh = new typed_box<T>(std::forward<Args>(args)...);
    reset_data();
    box_ = fresh;
    return fresh->value;
  }
  template <class T>
  /// The per-socket data of type T, or null.
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
