#include "duplex/client/client.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../net/io_calls.hpp"
#include "duplex/core/base64.hpp"
#include "duplex/core/random.hpp"
#include "duplex/http/response_parser.hpp"
#include "duplex/http/url.hpp"
#include "duplex/net/send_queue.hpp"
#include "duplex/ws/handshake.hpp"

namespace duplex {

// ---- URL -------------------------------------------------------------------------------

bool ws_url::parse(std::string_view url, ws_url& out) {
  out = ws_url{};
  http::url_parts p;
  if (!http::parse_url(url, p) || (p.scheme != "ws" && p.scheme != "wss")) return false;
  out.secure = p.scheme == "wss";
  out.host = std::move(p.host);
  out.port = p.port.value_or(out.secure ? 443 : 80);
  out.target = std::move(p.target);
  return true;
}

std::string ws_url::host_header() const {
  return http::host_header(host, port, secure ? 443 : 80);
}

// ---- the connection --------------------------------------------------------------------

class client::impl final : public net::io_handler {
 public:
  impl(client& owner, net::event_loop& loop, client_options opts, client_handlers h)
      : owner_(owner),
        loop_(loop),
        opts_(std::move(opts)),
        h_(std::move(h)),
        ws_(ws::role::client, opts_.ws_limits, &rng_) {}
  ~impl() { close_fd(); }

  void connect(std::string_view url);
  void on_io(std::uint32_t events) override;
  send_result send(std::string_view data, ws::opcode op, bool compress);
  send_result send_fragment(std::string_view data, ws::opcode op, bool fin);
  bool ping(std::string_view data);
  void close(std::uint16_t code, std::string_view reason);
  void terminate();

  enum class phase { idle, connecting, handshaking, open, draining, done };
  std::size_t min_compress() const noexcept { return opts_.deflate.min_size; }
  std::size_t buffered() const noexcept { return queue_.bytes() + ws_.held_bytes(); }
  phase phase_ = phase::idle;
  std::string protocol_;
  std::string extensions_;
  net::send_queue queue_;

 private:
  void fail(std::string why);
  void on_connected();
  void on_readable();
  void on_eof();
  template <class F>
  void call_app(F&& f);
  void on_bytes(char* data, std::size_t n);
  void on_plain(char* data, std::size_t n);
  void on_handshake_bytes(const char* data, std::size_t n);
  std::string verify(const http::response& res);
  void open_with(std::string leftover);
  void dispatch(std::span<char> bytes);
  void handle(const ws::event& ev);
  void flush();
  void send_wire(std::string_view bytes);
  void drop();
  void after_close();
  void arm(std::chrono::milliseconds d, void (impl::*what)());
  void disarm();
  void open_timed_out() { fail("timed out opening the connection"); }
  void close_timed_out();
  void close_fd();
  void want_write(bool on);

  client& owner_;
  net::event_loop& loop_;
  client_options opts_;
  client_handlers h_;
  core::system_random rng_;
  ws::connection ws_;
  int fd_ = -1;
  bool epollout_ = false;
  net::timer_id timer_ = 0;
  std::string key_;
  std::string request_;  // the upgrade request, held until TLS is up
  std::string plain_;
  std::string wire_;  // ciphertext of the write being made
  std::unique_ptr<net::tls_session> tls_;
  std::string head_;
  http::response_parser parser_;
};

void client::impl::connect(std::string_view url) {
  ws_url u;
  if (!ws_url::parse(url, u)) return fail("not a ws:// or wss:// URL: " + std::string(url));
  if (u.secure) {
    try {
      tls_ = std::make_unique<net::tls_session>(net::tls_context::client(opts_.tls), false, u.host);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  // Name resolution blocks the loop; numeric hosts resolve at once.
  if (::getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res) != 0 || !res)
    return fail("cannot resolve " + u.host);
  fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int rc = fd_ < 0 ? -1 : ::connect(fd_, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (fd_ < 0 || (rc != 0 && errno != EINPROGRESS))
    return fail(std::string("connect: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::array<std::byte, 16> raw{};
  rng_.fill(raw);
  key_ = core::base64_encode({reinterpret_cast<const char*>(raw.data()), raw.size()});
  std::string refused;
  request_ = ws::offer_request(u.host_header(), u.target, key_, opts_.subprotocols, opts_.deflate,
                               opts_.headers, refused);
  if (request_.empty()) return fail("header not allowed: " + refused);
  if (!tls_) queue_.push(std::exchange(request_, {}));  // with TLS it waits for the TLS handshake
  phase_ = phase::connecting;
  loop_.add(fd_, EPOLLOUT, this);
  epollout_ = true;
  arm(opts_.open_timeout, &impl::open_timed_out);
}

void client::impl::arm(std::chrono::milliseconds d, void (impl::*what)()) {
  disarm();
  timer_ = loop_.add_timer(d, [this, what] {
    timer_ = 0;
    (this->*what)();
  });
}

void client::impl::disarm() {
  if (timer_ != 0) loop_.cancel_timer(timer_);
  timer_ = 0;
}

void client::impl::close_fd() {
  disarm();
  if (fd_ < 0) return;
  loop_.remove(fd_);
  net::close_socket(fd_);
  fd_ = -1;
}

void client::impl::fail(std::string why) {
  close_fd();
  phase_ = phase::done;
  if (h_.on_error) call_app([&] { h_.on_error(owner_, why); });
}

// A handler that throws is reported to the loop (counted, logged) and closes this connection
// with 1011; it does not unwind through the loop or leave the connection half handled.
template <class F>
void client::impl::call_app(F&& f) {
  try {
    f();
  } catch (...) {
    loop_.report_exception(std::current_exception());
    if (phase_ == phase::open && ws_.can_send()) close(1011, "internal error");
  }
}

void client::impl::want_write(bool on) {
  if (fd_ < 0 || epollout_ == on) return;
  epollout_ = on;
  loop_.modify(fd_, on ? (EPOLLIN | EPOLLOUT) : EPOLLIN, this);
}

void client::impl::on_io(std::uint32_t events) {
  if (phase_ == phase::connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected();
    return;
  }
  if ((events & EPOLLOUT) && fd_ >= 0) flush();
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && fd_ >= 0) on_readable();
}

void client::impl::on_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(std::string("connect: ") + std::strerror(err));
  phase_ = phase::handshaking;
  if (tls_) {
    std::string hello;
    tls_->start(hello);
    queue_.push(std::move(hello));
  }
  flush();
}

// Decrypts when TLS is on; what comes out goes to the handshake or the WebSocket.
void client::impl::on_bytes(char* data, std::size_t n) {
  if (!tls_) return on_plain(data, n);
  plain_.clear();
  std::string cipher;
  const bool ok = tls_->receive({data, n}, plain_, cipher);
  queue_.push(std::move(cipher));
  if (!ok) {
    if (phase_ == phase::handshaking) return fail(tls_->error());
    ::shutdown(fd_, SHUT_RDWR);
    return;
  }
  if (tls_->handshake_done() && !request_.empty()) {
    std::string wire;
    if (!tls_->send(std::exchange(request_, {}), wire)) return fail(tls_->error());
    queue_.push(std::move(wire));
  }
  flush();
  if (!plain_.empty()) on_plain(plain_.data(), plain_.size());
  // The server's close_notify: it sends nothing more, as a FIN would say.
  if (tls_->peer_closed() && fd_ >= 0) on_eof();
}

void client::impl::on_plain(char* data, std::size_t n) {
  if (phase_ == phase::handshaking) {
    on_handshake_bytes(data, n);
  } else if (phase_ == phase::open) {
    dispatch({data, n});
  }
}

void client::impl::on_readable() {
  const std::span<char> buf = loop_.receive_buffer();
  for (int i = 0; i < 4 && fd_ >= 0; ++i) {
    const ssize_t n = net::sys::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return on_eof();
    on_bytes(buf.data(), static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < buf.size()) return;
  }
}

void client::impl::on_eof() {
  if (phase_ == phase::handshaking) return fail("connection closed during the handshake");
  if (phase_ == phase::open) {
    ws_.receive_eof();
    while (auto ev = ws_.next_event())
      handle(*ev);
  }
  close_fd();
  phase_ = phase::done;
}

void client::impl::on_handshake_bytes(const char* data, std::size_t n) {
  head_.append(data, n);
  const auto st = parser_.parse(head_);
  if (st == http::response_parser::status::incomplete) return;
  if (st == http::response_parser::status::error)
    return fail("malformed handshake response: " + parser_.error().message());
  const std::string why = verify(parser_.response());
  if (!why.empty()) return fail(why);
  open_with(head_.substr(parser_.head_size()));
}

// The answer is checked by the ws layer; what it agreed takes effect here.
std::string client::impl::verify(const http::response& res) {
  std::optional<ws::deflate_params> agreed;
  const auto ec = ws::check_response(res, key_, opts_.subprotocols, opts_.deflate, agreed);
  if (ec == ws::handshake_errc::not_switching_protocols)
    return "server answered " + std::to_string(res.status) + " " + std::string(res.reason);
  if (ec) return ec.message();
  if (agreed) {
    ws_.enable_deflate(*agreed, opts_.deflate.level, opts_.deflate.min_size);
    extensions_ = std::string(*res.find("Sec-WebSocket-Extensions"));
  }
  protocol_ = std::string(res.find("Sec-WebSocket-Protocol").value_or(""));
  return {};
}

void client::impl::open_with(std::string leftover) {
  disarm();
  std::string().swap(head_);
  phase_ = phase::open;
  if (h_.on_open) call_app([&] { h_.on_open(owner_); });
  if (!leftover.empty() && phase_ == phase::open) dispatch(leftover);
}

void client::impl::dispatch(std::span<char> bytes) {
  ws_.receive(bytes);
  while (phase_ == phase::open) {
    auto ev = ws_.next_event();
    if (!ev) break;
    handle(*ev);
  }
  flush();
}

void client::impl::handle(const ws::event& ev) {
  switch (ev.type) {
    case ws::event_type::message:
    case ws::event_type::fragment:
      if (h_.on_message) call_app([&] { h_.on_message(owner_, ev.data, ev.op); });
      break;
    case ws::event_type::ping:
      if (h_.on_ping) call_app([&] { h_.on_ping(owner_, ev.data); });
      break;
    case ws::event_type::pong:
      if (h_.on_pong) call_app([&] { h_.on_pong(owner_, ev.data); });
      break;
    case ws::event_type::close:
      flush();
      phase_ = phase::draining;
      if (h_.on_close) call_app([&] { h_.on_close(owner_, ev.code, ev.data); });
      after_close();
      break;
  }
}

// RFC 6455 section 7.1.1: the server closes TCP first; the client waits for that, but not forever.
void client::impl::after_close() {
  if (fd_ < 0) return;
  if (tls_) {  // close frames exchanged: TLS ends with close_notify, then we wait for TCP's end
    std::string wire;
    tls_->close_notify(wire);
    queue_.push(std::move(wire));
    flush();
  }
  arm(opts_.close_timeout, &impl::close_timed_out);
}

void client::impl::close_timed_out() {
  if (phase_ == phase::open) {  // our close frame was never answered
    ws_.abort(ws::errc::close_timeout);
    while (auto ev = ws_.next_event())
      handle(*ev);
  }
  close_fd();
  phase_ = phase::done;
}

void client::impl::flush() {
  if (fd_ < 0) return;
  if (!ws_.pending_output().empty()) {
    if (!tls_) {
      send_wire(ws_.pending_output());
    } else {
      wire_.clear();
      if (tls_->send(ws_.pending_output(), wire_)) {
        send_wire(wire_);
      } else {
        drop();
      }
    }
    ws_.clear_output();
  }
  const auto w = queue_.flush(fd_);
  if (w.error) return drop();
  want_write(!queue_.empty());
  if (queue_.bytes() > opts_.max_backpressure) {
    ws_.abort(ws::errc::send_queue_full);
    drop();
  }
}

// Written at once when nothing waits before these bytes: only what the kernel refuses is
// copied into the queue.
void client::impl::send_wire(std::string_view bytes) {
  std::size_t written = 0;
  if (queue_.empty()) {
    const auto w = net::write_bytes(fd_, bytes);
    if (w.error) return drop();
    written = w.written;
  }
  if (written < bytes.size()) queue_.push(bytes.substr(written));
}

// The peer is gone or hopeless: the next readiness reports the end, and on_close follows.
void client::impl::drop() {
  queue_.clear();
  ::shutdown(fd_, SHUT_RDWR);
}

send_result client::impl::send(std::string_view data, ws::opcode op, bool compress) {
  if (phase_ != phase::open || !ws_.send(op, data, compress))
    return {send_status::closed, queue_.bytes()};
  flush();
  return {queue_.empty() ? send_status::sent : send_status::buffered, queue_.bytes()};
}

send_result client::impl::send_fragment(std::string_view data, ws::opcode op, bool fin) {
  if (phase_ != phase::open || !ws_.send_fragment(op, data, fin))
    return {send_status::closed, queue_.bytes()};
  flush();
  return {queue_.empty() ? send_status::sent : send_status::buffered, queue_.bytes()};
}

bool client::impl::ping(std::string_view data) {
  if (phase_ != phase::open || !ws_.ping(data)) return false;
  flush();
  return true;
}

void client::impl::close(std::uint16_t code, std::string_view reason) {
  if (phase_ != phase::open || !ws_.close(code, reason)) return;
  flush();
  arm(opts_.close_timeout, &impl::close_timed_out);
}

void client::impl::terminate() {
  if (phase_ == phase::open) {
    ws_.abort(ws::errc::connection_lost);
    close_fd();
    while (auto ev = ws_.next_event())
      handle(*ev);
  }
  close_fd();
  phase_ = phase::done;
}

// ---- public face -----------------------------------------------------------------------

client::client(net::event_loop& loop, client_options opts, client_handlers handlers)
    : impl_(std::make_unique<impl>(*this, loop, std::move(opts), std::move(handlers))) {}
client::~client() = default;
void client::connect(std::string_view url) {
  impl_->connect(url);
}
send_result client::send(std::string_view data, ws::opcode op) {
  return impl_->send(data, op, data.size() >= impl_->min_compress());
}
send_result client::send(std::string_view data, ws::opcode op, bool compress) {
  return impl_->send(data, op, compress);
}
send_result client::send_fragment(std::string_view data, ws::opcode op, bool fin) {
  return impl_->send_fragment(data, op, fin);
}
bool client::ping(std::string_view data) {
  return impl_->ping(data);
}
void client::close(std::uint16_t code, std::string_view reason) {
  impl_->close(code, reason);
}
void client::terminate() {
  impl_->terminate();
}
bool client::is_open() const noexcept {
  return impl_->phase_ == impl::phase::open;
}
std::size_t client::buffered_amount() const noexcept {
  return impl_->buffered();
}
std::string_view client::subprotocol() const noexcept {
  return impl_->protocol_;
}
std::string_view client::extensions() const noexcept {
  return impl_->extensions_;
}

}  // namespace duplex
