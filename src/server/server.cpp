#include "duplex/server/server.hpp"

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "duplex/http/cookie.hpp"
#include "duplex/ws/handshake.hpp"
#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex {
namespace detail {

// ---- server_state ----------------------------------------------------------------------

server_state::server_state(server_options o) : opts(std::move(o)) {
  if (const auto certs = certificate_list(); !certs.empty()) tls = net::tls_context::server(certs);
  fallback = [](const http::request&, http_response& res) { res.status(404).body("not found\n"); };
}

void server_state::log(std::string_view line) const {
  if (opts.log) {
    opts.log(line);
    return;
  }
  std::fprintf(stderr, "duplex: %.*s\n", static_cast<int>(line.size()), line.data());
}

const route* server_state::find_ws(std::string_view path) const noexcept {
  for (const auto& r : ws_routes)
    if (r->path == path) return r.get();
  return nullptr;
}

net::shared_bytes server_state::frame(std::string_view data, ws::opcode op) const {
  char header[ws::max_header_size];
  auto buf = std::make_shared<std::string>();
  buf->reserve(ws::max_header_size + data.size());
  buf->append(header, ws::write_header(header, true, op, data.size()));
  buf->append(data);
  return buf;
}

void server_state::publish(std::string_view topic, std::string_view data, ws::opcode op,
                           socket_conn* except) {
  publication pub{frame(data, op), nullptr};
  // Compressed frames are made later, on demand: only the loops know who compresses.
  if (opts.deflate.enabled && data.size() >= opts.deflate.min_size)
    pub.packed = std::make_shared<packed_frames>(pub.plain, pub.plain->size() - data.size(), op,
                                                 opts.deflate.level);
  for (auto& ctx : loops) {
    if (ctx->loop.in_loop_thread()) {
      ctx->deliver(topic, pub, except);
    } else {
      ctx->loop.post([c = ctx.get(), t = std::string(topic), pub] { c->deliver(t, pub, nullptr); });
    }
  }
}

// ---- loop_context ----------------------------------------------------------------------

namespace {

net::loop_options loop_options_for(const server_options& o) {
  net::loop_options l;
  l.io = o.io;
  l.batch_sends = o.batch_sends;
  return l;
}

}  // namespace

loop_context::loop_context(server_state& s, unsigned i)
    : server(s),
      index(i),
      loop(loop_options_for(s.opts)),
      wheel(static_cast<std::uint64_t>(std::max<std::int64_t>(s.opts.tick.count(), 1))) {
  anchor->ctx = this;
  cork.reserve(64 * 1024);
  scratch.reserve(16 * 1024);
  loop.on_exception([this](std::string_view what) {
    if (server.opts.on_exception) return server.opts.on_exception(what);
    server.log("exception on loop " + std::to_string(index) + ": " + std::string(what));
  });
  loop.on_iteration_end([this] { iteration_end(); });
}

loop_context::~loop_context() {
  {
    std::lock_guard lock(anchor->mutex);  // no handle posts to this loop from now on
    anchor->ctx = nullptr;
  }
  listener.reset();
  std::vector<socket_conn*> all;  // open ones and the graveyard's
  all.reserve(sockets.size());
  sockets.for_each([&](socket_conn& c) { all.push_back(&c); });
  for (socket_conn* c : all) {
    if (c->current_phase() != phase::dead) unlink(c);
    sockets.destroy(c);
  }
}

void loop_context::accept(int fd) {
  if (shutting_down) {
    ::close(fd);
    return;
  }
  socket_conn* c = sockets.make(*this, fd);
  link(c);
  c->start();
}

void loop_context::link(socket_conn*) noexcept {
  ++open;
  server.connections.fetch_add(1, std::memory_order_relaxed);
}

void loop_context::unlink(socket_conn*) noexcept {
  --open;
  server.connections.fetch_sub(1, std::memory_order_relaxed);
}

socket_conn* loop_context::first_open() noexcept {
  socket_conn* found = nullptr;
  sockets.for_each([&](socket_conn& c) {
    if (!found && c.current_phase() != phase::dead) found = &c;
  });
  return found;
}

void loop_context::arm(net::wheel_node& n, std::uint64_t at) {
  wheel.arm(n, at);
  schedule_wheel();
}

void loop_context::turn_wheel() {
  wheel_timer = 0;
  wheel_wake = 0;
  const std::uint64_t now = loop.now_ms();
  wheel.advance(now, [now](net::wheel_node& n) { socket_conn::of(n).on_timer(now); });
  schedule_wheel();
}

void loop_context::schedule_wheel() {
  const std::uint64_t at = wheel.next_turn();
  if (at == 0 || (wheel_timer != 0 && wheel_wake <= at)) return;
  if (wheel_timer != 0) loop.cancel_timer(wheel_timer);
  const std::uint64_t now = loop.now_ms();
  wheel_timer =
      loop.add_timer(std::chrono::milliseconds(at > now ? at - now : 0), [this] { turn_wheel(); });
  wheel_wake = at;
}

void loop_context::iteration_end() {
  // Index loop: a flush never adds to the list, but stays safe if it one day does.
  for (std::size_t i = 0; i < deferred.size(); ++i)
    deferred[i]->flush_deferred();
  deferred.clear();
  for (socket_conn* c : graveyard)
    sockets.destroy(c);
  graveyard.clear();
  if (shutting_down && open == 0) loop.stop();
}

void loop_context::begin_shutdown() {
  if (shutting_down) return;
  shutting_down = true;
  listener.reset();
  sockets.for_each([](socket_conn& c) {
    if (c.current_phase() != phase::dead) c.begin_shutdown();
  });
  loop.add_timer(server.opts.close_timeout, [this] {
    sockets.for_each([](socket_conn& c) {
      if (c.current_phase() != phase::dead) c.force_close();
    });
  });
}

std::uint64_t loop_context::after(std::chrono::milliseconds d) const noexcept {
  return d.count() <= 0 ? 0 : loop.now_ms() + static_cast<std::uint64_t>(d.count());
}

std::uint64_t loop_context::closing_deadline() const noexcept {
  return after(std::max(server.opts.close_timeout, std::chrono::milliseconds(1)));
}

void loop_context::deliver(std::string_view topic_name, const publication& pub,
                           socket_conn* except) {
  auto it = topics.find(topic_name);
  if (it == topics.end()) return;
  for (socket_conn* c : it->second.subscribers) {
    if (c == except) continue;
    if (!pub.packed || !c->compresses()) {
      c->deliver_shared(pub.plain);
    } else if (const int bits = c->shared_deflate_bits()) {
      // No context between messages: the frame compressed once for this window serves it.
      const auto& packed = pub.packed->frame(bits);
      c->deliver_shared(packed ? packed : pub.plain);
    } else {
      // Its compressor keeps context: only it can compress for it (docs/design.md weighs this
      // against sending such subscribers the uncompressed frame).
      c->send_message(pub.packed->payload(), pub.packed->op(), true);
    }
  }
}

// ---- signals ---------------------------------------------------------------------------

// SIGINT and SIGTERM (and SIGHUP, with TLS) become a readable eventfd on loop 0. A handler
// (not a blocked mask plus signalfd) so that threads the application started on its own cannot
// catch the signal first.
std::atomic<int> signal_fd{-1};
std::atomic<bool> stop_requested{false};
std::atomic<bool> reload_requested{false};

void wake_signal_watch() {
  const int fd = signal_fd.load();
  const std::uint64_t one = 1;
  if (fd >= 0) [[maybe_unused]]
    auto n = ::write(fd, &one, sizeof one);
}

extern "C" void on_stop_signal(int) {
  stop_requested = true;
  wake_signal_watch();
}

extern "C" void on_reload_signal(int) {
  reload_requested = true;
  wake_signal_watch();
}

class signal_watch final : public net::io_handler {
 public:
  // `reload`: SIGHUP reloads the certificates (a server without TLS leaves SIGHUP alone).
  signal_watch(net::event_loop& loop, server& s, bool reload) : loop_(loop), server_(s) {
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) return;
    signal_fd = fd_;
    catch_signal(SIGINT, on_stop_signal, old_int_);
    catch_signal(SIGTERM, on_stop_signal, old_term_);
    if (reload) hup_ = catch_signal(SIGHUP, on_reload_signal, old_hup_);
    loop_.add(fd_, net::io_events::readable, this);
  }
  ~signal_watch() {
    if (fd_ < 0) return;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    if (hup_) ::sigaction(SIGHUP, &old_hup_, nullptr);
    signal_fd = -1;
    loop_.remove(fd_);
    ::close(fd_);
  }
  void on_io(net::io_events) override {
    std::uint64_t n = 0;
    if (::read(fd_, &n, sizeof n) != sizeof n) return;
    if (reload_requested.exchange(false)) server_.reload_certificates();
    if (stop_requested.exchange(false)) {
      std::fprintf(stderr, "duplex: stop signal, shutting down\n");
      server_.shutdown();
    }
  }

 private:
  static bool catch_signal(int sig, void (*fn)(int), struct sigaction& old) {
    struct sigaction sa {};
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return ::sigaction(sig, &sa, &old) == 0;
  }

  net::event_loop& loop_;
  server& server_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  struct sigaction old_hup_ {};
  bool hup_ = false;
  int fd_ = -1;
};

}  // namespace detail

// ---- upgrade_context -------------------------------------------------------------------

std::optional<std::string_view> upgrade_context::cookie(std::string_view name) const {
  return http::find_cookie(request.headers, name);
}

// ---- server ----------------------------------------------------------------------------

server::server(server_options options)
    : state_(std::make_unique<detail::server_state>(std::move(options))) {}

server::~server() = default;

server& server::ws(std::string path, ws_behavior behavior) {
  state_->ws_routes.push_back(
      std::make_unique<detail::route>(detail::route{std::move(path), std::move(behavior)}));
  return *this;
}

server& server::http(std::string path, http_handler handler) {
  state_->http_routes[std::move(path)] = std::move(handler);
  return *this;
}

server& server::fallback(http_handler handler) {
  state_->fallback = std::move(handler);
  return *this;
}

// Every loop accepts from one Unix-domain socket: SO_REUSEPORT does not spread those.
static void listen_unix(detail::server_state& st, unsigned n) {
  const net::unix_listen_options where{st.opts.unix_path, st.opts.unix_mode, st.opts.unlink_stale};
  for (unsigned i = 0; i < n; ++i) {
    auto ctx = std::make_unique<detail::loop_context>(st, i);
    auto on_accept = [c = ctx.get()](int fd, const net::address&) { c->accept(fd); };
    ctx->listener =
        i == 0 ? std::make_unique<net::listener>(ctx->loop, where, on_accept)
               : std::make_unique<net::listener>(ctx->loop, *st.loops[0]->listener, on_accept);
    ctx->listener->on_log([&st](std::string_view line) { st.log(line); });
    ctx->listener->want_peer_address(false);  // asked of the socket when a log line needs it
    st.loops.push_back(std::move(ctx));
  }
}

void server::listen() {
  if (!state_->loops.empty()) return;
  const unsigned n = std::max(1u, state_->opts.threads);
  if (!state_->opts.unix_path.empty()) return listen_unix(*state_, n);
  auto addr = net::address::resolve(state_->opts.host, state_->opts.port);
  if (n > 1 && !state_->opts.share_port && addr.port() != 0 && net::listener::in_use(addr))
    throw std::system_error(EADDRINUSE, std::generic_category(),
                            "listen " + addr.to_string() +
                                ": another process listens there (server_options::share_port)");
  for (unsigned i = 0; i < n; ++i) {
    auto ctx = std::make_unique<detail::loop_context>(*state_, i);
    auto* c = ctx.get();
    ctx->listener = std::make_unique<net::listener>(
        ctx->loop, addr, n > 1, [c](int fd, const net::address&) { c->accept(fd); });
    ctx->listener->on_log([st = state_.get()](std::string_view line) { st->log(line); });
    ctx->listener->want_peer_address(false);  // asked of the socket when a log line needs it
    // With port 0 the first listener picks the port; the others join it through SO_REUSEPORT.
    if (i == 0) {
      state_->port = ctx->listener->port();
      addr = net::address::resolve(state_->opts.host, state_->port);
    }
    state_->loops.push_back(std::move(ctx));
  }
}

std::uint16_t server::port() const noexcept {
  return state_->port;
}

void server::run() {
  listen();
  std::unique_ptr<detail::signal_watch> signals;
  if (state_->opts.handle_signals)
    signals = std::make_unique<detail::signal_watch>(state_->loops[0]->loop, *this,
                                                     state_->current_tls() != nullptr);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < state_->loops.size(); ++i)
    threads.emplace_back([ctx = state_->loops[i].get()] { ctx->loop.run(); });
  state_->loops[0]->loop.run();
  for (auto& t : threads)
    t.join();
  signals.reset();
  // The loops stay until the server is destroyed: another thread may still post to them (a
  // database writer finishing), and such late work is dropped, not run on a freed loop.
}

void server::shutdown() {
  state_->shutting_down = true;
  for (auto& ctx : state_->loops)
    ctx->loop.post([c = ctx.get()] { c->begin_shutdown(); });
}

void server::publish(std::string_view topic, std::string_view data, ws::opcode op) {
  state_->publish(topic, data, op, nullptr);
}

namespace {

[[noreturn]] void no_loop(const char* call, unsigned i, std::size_t loops) {
  throw std::logic_error(std::string("duplex::server::") + call + "(" + std::to_string(i) + "): " +
                         (loops == 0 ? "call listen() (or run()) first"
                                     : "the server has " + std::to_string(loops) + " loops"));
}

}  // namespace

void server::post(unsigned loop, std::function<void()> fn) {
  if (loop >= state_->loops.size()) no_loop("post", loop, state_->loops.size());
  state_->loops[loop]->loop.post(std::move(fn));
}

void server::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  add_timer(delay, std::move(fn), false);
}

void server::every(std::chrono::milliseconds interval, std::function<void()> fn) {
  add_timer(interval, std::move(fn), true);
}

// Straight onto loop 0 from its own thread; through post from any other, before run() too
// (the timer is then counted from the loop's first iteration, not from this call).
void server::add_timer(std::chrono::milliseconds delay, std::function<void()> fn, bool repeat) {
  if (state_->loops.empty()) listen();
  auto& l = state_->loops[0]->loop;
  if (l.in_loop_thread()) {
    l.add_timer(delay, std::move(fn), repeat);
    return;
  }
  l.post([&l, delay, repeat, fn = std::move(fn)]() mutable {
    l.add_timer(delay, std::move(fn), repeat);
  });
}

unsigned server::loop_count() const noexcept {
  return static_cast<unsigned>(state_->loops.size());
}

net::event_loop& server::loop(unsigned i) {
  if (i >= state_->loops.size()) no_loop("loop", i, state_->loops.size());
  return state_->loops[i]->loop;
}

std::size_t server::connection_count() const noexcept {
  return state_->connections.load();
}

std::uint64_t server::exception_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& ctx : state_->loops)
    n += ctx->loop.exception_count();
  return n;
}

}  // namespace duplex
