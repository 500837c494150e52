// The client's phase machine (connecting, TLS and HTTP handshake, open, closing) over a
// net::stream and a ws::connection; duplex::client is its public face.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "../net/stream.hpp"
#include "dialer.hpp"
#include "duplex/client/client.hpp"
#include "duplex/core/random.hpp"
#include "duplex/http/response_parser.hpp"
#include "duplex/ws/close_code.hpp"
#include "duplex/ws/connection.hpp"
#include "proxy.hpp"
#include "resolver.hpp"

namespace duplex {

class client::impl final : private net::stream {
 public:
  impl(client& owner, net::event_loop& loop, client_options opts, client_handlers h);
  ~impl() {
    stop_retrying();
    close_stream();
  }

  void connect(std::string_view url);
  void on_io(net::io_events events) override;
  send_result send(std::string_view data, ws::opcode op, bool compress);
  send_result send_fragment(std::string_view data, ws::opcode op, bool fin);
  bool ping(std::string_view data);
  void close(std::uint16_t code, std::string_view reason);
  void terminate();

  // What net::stream::read reports to.
  bool stream_reading() const noexcept { return stream().is_open(); }
  void on_stream_data(char* data, std::size_t n);
  void on_stream_end();
  void on_stream_tls_error(std::string_view why);

  enum class phase { idle, resolving, connecting, proxying, handshaking, open, draining, done };
  std::size_t min_compress() const noexcept { return opts_.deflate.min_size; }
  std::size_t buffered() const noexcept {
    return stream().queued() + (ws_ ? ws_->held_bytes() : 0);
  }
  phase phase_ = phase::idle;
  std::string protocol_;
  std::string extensions_;
  // Reconnection (reconnect.cpp). The app's close() or terminate() sets deliberate_.
  void stop_retrying() noexcept;
  bool deliberate_ = false;
  unsigned opens_ = 0;

 private:
  net::stream& stream() noexcept { return *this; }
  const net::stream& stream() const noexcept { return *this; }
  void fail(client_errc code, std::string detail, int status = 0);
  // One try at opening: resolve, dial, TLS and the upgrade.
  void start_attempt();
  bool prepare_attempt();
  void on_resolved(detail::resolved r);
  void on_dialed(int fd, std::string error);
  void on_connected();
  bool choose_proxy();
  void on_proxy_bytes(const char* data, std::size_t n);
  void start_handshake();
  void on_writable();
  template <class F>
  void call_app(F&& f);
  void on_handshake_bytes(const char* data, std::size_t n);
  void verify(const http::response& res, client_error& e);
  void open_with(std::string leftover);
  void dispatch(std::span<char> bytes);
  void handle(const ws::event& ev);
  void flush();
  send_result result() const noexcept;
  void after_close();
  void arm(std::chrono::milliseconds d, void (impl::*what)());
  void disarm();
  void open_timed_out() { fail(client_errc::open_timeout, "timed out opening the connection"); }
  void close_timed_out();
  bool retryable(const client_error& e) const noexcept;
  bool retryable(std::uint16_t close_code) const;
  void plan_retry(bool retryable) noexcept;
  void schedule_retry();
  std::chrono::milliseconds next_delay();
  // Keepalive (keepalive.cpp).
  void start_keepalive();
  void keepalive_tick();
  void stop_keepalive() noexcept;
  void close_stream();
  void end_connection();
  void abandon_attempt();

  client& owner_;
  net::event_loop& loop_;
  client_options opts_;
  client_handlers h_;
  core::system_random rng_;
  std::optional<ws::connection> ws_;  // one per attempt
  ws_url url_;
  std::shared_ptr<net::tls_context> tls_ctx_;
  std::optional<detail::proxy_config> proxy_;
  std::optional<net::address> unix_address_;
  detail::resolver resolver_;
  detail::dialer dialer_;
  net::timer_id timer_ = 0;
  net::timer_id keepalive_timer_ = 0;
  net::timer_id retry_timer_ = 0;
  unsigned retries_ = 0;  // since the last connection that stayed open
  std::uint64_t opened_ms_ = 0;
  bool retry_planned_ = false;
  std::uint64_t last_input_ms_ = 0;
  std::uint64_t ping_sent_ms_ = 0;  // 0: no keepalive ping awaits an answer
  std::string key_;
  std::string request_;  // the upgrade request, written once TCP is connected
  std::string head_;
  http::response_parser parser_;
};

// A handler that throws is reported to the loop (counted, logged) and closes this connection
// with 1011; it does not unwind through the loop or leave the connection half handled.
template <class F>
void client::impl::call_app(F&& f) {
  try {
    f();
  } catch (...) {
    loop_.report_exception(std::current_exception());
    if (phase_ == phase::open && ws_->can_send())
      close(ws::to_int(ws::close_code::internal_error), "internal error");
  }
}

}  // namespace duplex
