// Automatic reconnection: which endings are worth another attempt, and the backoff between
// attempts (exponential, with jitter, bounded in count).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "connection.hpp"

namespace duplex {

bool client::impl::retryable(const client_error& e) const noexcept {
  switch (static_cast<client_errc>(e.code.value())) {
    case client_errc::resolve_failed:
    case client_errc::connect_failed:
    case client_errc::closed_early:
    case client_errc::open_timeout:
      return true;
    case client_errc::refused:  // 4xx would be refused again; 5xx may pass, 429 asks to wait
    case client_errc::proxy_refused:
      return e.status >= 500 || e.status == 429;
    default:  // the URL, the headers, the TLS setup or the server's answer would not change
      return false;
  }
}

bool client::impl::retryable(std::uint16_t code) const {
  if (opts_.reconnect.after_close) return opts_.reconnect.after_close(ws::close_code{code});
  switch (static_cast<ws::close_code>(code)) {
    case ws::close_code::going_away:  // a server restarting, or our keepalive giving up
    case ws::close_code::no_status:
    case ws::close_code::abnormal:
    case ws::close_code::internal_error:
    case ws::close_code::service_restart:
    case ws::close_code::try_again_later:
    case ws::close_code::bad_gateway:
      return true;
    default:
      return false;
  }
}

void client::impl::plan_retry(bool ok) noexcept {
  const auto& r = opts_.reconnect;
  retry_planned_ = r.enabled && ok && !deliberate_ && retries_ < r.max_attempts;
}

void client::impl::stop_retrying() noexcept {
  deliberate_ = true;
  retry_planned_ = false;
  if (retry_timer_ != 0) loop_.cancel_timer(retry_timer_);
  retry_timer_ = 0;
}

std::chrono::milliseconds client::impl::next_delay() {
  const auto& r = opts_.reconnect;
  const double base = static_cast<double>(std::max<long long>(r.initial.count(), 1));
  const double grown = base * std::pow(std::max(r.factor, 1.0), static_cast<double>(retries_));
  const double wait = std::min(grown, static_cast<double>(r.max.count()));
  std::array<std::byte, 8> raw{};
  rng_.fill(raw);
  std::uint64_t bits;
  std::memcpy(&bits, raw.data(), sizeof bits);
  const double unit = static_cast<double>(bits >> 11) / 9007199254740992.0;  // [0, 1)
  const double jitter = std::clamp(r.jitter, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(wait * (1.0 - jitter * unit)));
}

// After on_close or on_error: the app may have called close() in them, which cancels the plan.
void client::impl::schedule_retry() {
  if (!retry_planned_ || deliberate_ || retry_timer_ != 0) return;
  retry_planned_ = false;
  const auto delay = next_delay();
  ++retries_;
  retry_timer_ = loop_.add_timer(delay, [this] {
    retry_timer_ = 0;
    start_attempt();
  });
  if (h_.on_retry) call_app([&] { h_.on_retry(owner_, retries_, delay); });
}

}  // namespace duplex
