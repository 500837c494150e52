#include "metered_store.hpp"

#include <chrono>

namespace duplex::chat {
namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
constexpr const char* appends_help =
    "Appends to the store (messages and events), by answer: ok (durable, acknowledged) or failed "
    "(store_failed).";
}  // namespace

metered_store::metered_store(store& inner, metrics::registry& m)
    : inner_(inner),
      ok_(m.counter("duplex_chat_store_appends_total", appends_help, {{"result", "ok"}})),
      failed_(m.counter("duplex_chat_store_appends_total", appends_help, {{"result", "failed"}})),
      latency_(m.histogram_of("duplex_chat_store_append_seconds",
                              "Time from an append to the store's answer, ok or failed.",
                              metrics::latency_buckets())) {
  inner_.set_listener(this);
}

metered_store::~metered_store() {
  inner_.set_listener(nullptr);
}

void metered_store::done_one(bool ok, std::int64_t started_ns) {
  ++(ok ? ok_ : failed_);
  latency_.observe(static_cast<double>(now_ns() - started_ns) / 1e9);
}

void metered_store::append(stored_message m, std::function<void(bool, std::int64_t)> done) {
  inner_.append(std::move(m),
                [this, t = now_ns(), done = std::move(done)](bool ok, std::int64_t id) {
                  done_one(ok, t);
                  done(ok, id);
                });
}

void metered_store::append_once(stored_message m, std::function<void(append_result)> done) {
  inner_.append_once(std::move(m), [this, t = now_ns(), done = std::move(done)](append_result r) {
    done_one(r.ok, t);
    done(r);
  });
}

}  // namespace duplex::chat
