// The client's keepalive: a ping after a quiet interval, and the connection given up when the
// peer stays silent after it (a NAT that dropped the flow, a server that hangs).
#include "connection.hpp"

namespace duplex {

void client::impl::start_keepalive() {
  stop_keepalive();
  if (opts_.ping_interval.count() <= 0) return;
  last_input_ms_ = loop_.now_ms();
  keepalive_timer_ = loop_.add_timer(opts_.ping_interval, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });
}

void client::impl::stop_keepalive() noexcept {
  if (keepalive_timer_ != 0) loop_.cancel_timer(keepalive_timer_);
  keepalive_timer_ = 0;
  ping_sent_ms_ = 0;
}

// Any input is a sign of life, a pong or not: a busy peer need not answer to be alive.
void client::impl::keepalive_tick() {
  if (phase_ != phase::open) return;
  const std::uint64_t now = loop_.now_ms();
  const auto interval = static_cast<std::uint64_t>(opts_.ping_interval.count());
  if (ping_sent_ms_ != 0 && last_input_ms_ < ping_sent_ms_) {
    ws_->abort(ws::errc::idle_timeout);  // 1001, as the server's idle timeout
    close_stream();
    while (auto ev = ws_->next_event())
      handle(*ev);
    end_connection();
    return;
  }
  std::chrono::milliseconds wait = opts_.ping_interval;
  ping_sent_ms_ = 0;
  if (now - last_input_ms_ >= interval) {
    if (!ping({})) return;
    ping_sent_ms_ = now;
    wait = opts_.pong_timeout;
  } else {
    wait = std::chrono::milliseconds(interval - (now - last_input_ms_));
  }
  keepalive_timer_ = loop_.add_timer(wait, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });
}

}  // namespace duplex
