// Fault injection in the glue: for every N a scripted exchange reaches, its Nth recv, sendmsg,
// accept4 or TLS step fails, and the server (or client) must end that socket cleanly, report its
// close once, free it, and go on serving.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "duplex/client/client.hpp"
#include "duplex/net/tls.hpp"
#include "duplex/server/server.hpp"
#include "fail_count.hpp"
#include "support/certs.hpp"
#include "support/frames.hpp"
#include "support/loopback_listener.hpp"
#include "support/test_client.hpp"

namespace duplex {
namespace {

using namespace duplex::test;
using namespace std::chrono_literals;

#ifdef DUPLEX_SANITIZED
constexpr int slowdown = 3;
#else
constexpr int slowdown = 1;
#endif
// No step of a healthy exchange comes near this: reaching it means the glue neither answered nor
// ended the connection after a fault.
constexpr int wait_ms = 2000 * slowdown;
// Below the shortest timer that can end a stuck exchange (close_timeout, 200 ms, on both sides):
// a run longer than this waited for a timer to notice what the glue should have seen at once.
// A run that long is tried again before it counts, in case the machine was only busy.
constexpr auto timer_bound = std::chrono::milliseconds(150);

// Polls `pred` until it holds or wait_ms passes: eventually() at a finer grain, since a walk
// waits for its server to settle hundreds of times.
bool settled(const std::function<bool()>& pred) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return true;
}

// ---- what the server's callbacks saw, socket by socket -----------------------------------

class registry;

// Per-socket user data: names the socket's record, and notes when the socket is freed.
struct tag {
  registry* owner;
  std::size_t id;
  tag(registry* r, std::size_t i) : owner(r), id(i) {}
  ~tag();
  tag(const tag&) = delete;
  tag& operator=(const tag&) = delete;
};

class registry {
 public:
  struct record {
    int closes = 0;
    int after_close = 0;  // callbacks that came after on_close
    bool freed = false;   // its user data went with the socket
  };

  std::size_t opened() {
    std::lock_guard lock(mutex_);
    records_.emplace_back();
    return records_.size() - 1;
  }
  void freed(std::size_t id) {
    std::lock_guard lock(mutex_);
    records_[id].freed = true;
  }
  // Every callback but on_open comes through here; false if it should not have run.
  bool seen(websocket& ws, bool closing = false) {
    const tag* t = ws.data<tag>();
    std::lock_guard lock(mutex_);
    if (t == nullptr) {
      ++untagged_;
      return false;
    }
    record& r = records_[t->id];
    if (r.closes > 0) {
      ++(closing ? r.closes : r.after_close);
      return false;
    }
    if (closing) ++r.closes;
    return true;
  }
  // Empty when every socket that opened was closed exactly once, quietly, and freed.
  std::string problems() {
    std::lock_guard lock(mutex_);
    std::string out;
    if (untagged_ > 0) out += std::to_string(untagged_) + " callbacks before on_open; ";
    for (std::size_t i = 0; i < records_.size(); ++i) {
      const record& r = records_[i];
      if (r.closes != 1)
        out += "socket " + std::to_string(i) + ": " + std::to_string(r.closes) + " on_close; ";
      if (r.after_close > 0)
        out += "socket " + std::to_string(i) + ": " + std::to_string(r.after_close) +
               " callbacks after on_close; ";
      if (!r.freed) out += "socket " + std::to_string(i) + ": not freed; ";
    }
    return out;
  }
  bool all_freed() {
    std::lock_guard lock(mutex_);
    for (const auto& r : records_)
      if (!r.freed) return false;
    return true;
  }

 private:
  std::mutex mutex_;
  std::vector<record> records_;
  int untagged_ = 0;
};

tag::~tag() {
  owner->freed(id);
}

std::function<void(server&)> routes(registry& reg) {
  return [&reg](server& s) {
    s.http("/hello", [](const http::request&, http_response& res) { res.body("hello\n"); });
    ws_behavior b;
    b.on_open = [&reg](websocket& ws) { ws.emplace_data<tag>(&reg, reg.opened()); };
    b.on_message = [&reg](websocket& ws, std::string_view d, ws::opcode op) {
      if (!reg.seen(ws)) return;
      if (d.starts_with("sub:")) {
        ws.subscribe(d.substr(4));
        ws.send("subscribed");
      } else if (d.starts_with("pub:")) {
        ws.publish("news", d.substr(4));
        ws.send("published");
      } else if (d == "close-me") {
        ws.close(ws::application_code(0), "asked");
      } else {
        ws.send(d, op);
      }
    };
    b.on_drain = [&reg](websocket& ws) { reg.seen(ws); };
    b.on_ping = [&reg](websocket& ws, std::string_view) { reg.seen(ws); };
    b.on_pong = [&reg](websocket& ws, std::string_view) { reg.seen(ws); };
    b.on_close = [&reg](websocket& ws, ws::close_code, std::string_view) { reg.seen(ws, true); };
    s.ws("/", std::move(b));
  };
}

server_options options(const cert_files* certs) {
  server_options o;
  o.tick = 10ms;
  o.close_timeout = 200ms;
  o.handshake_timeout = 500ms;
  o.drain_watermark = 8 * 1024;  // a partial write of the large echo passes it: on_drain runs
  if (certs != nullptr) {
    o.tls.cert_file = certs->cert;
    o.tls.key_file = certs->key;
  }
  return o;
}

// ---- a blocking peer for the server, plain or TLS -------------------------------------------

// Its calls are plain ::recv and ::send, and its TLS steps are kept out of the count by thread.
class peer {
 public:
  peer(std::uint16_t port, const std::shared_ptr<net::tls_context>& tls) {
    fd_ = test::connect_loopback(port);
    if (fd_ < 0) throw std::runtime_error("connect failed");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!tls) return;
    tls_ = std::make_unique<net::tls_session>(tls, false, "localhost");
    std::string hello;
    tls_->start(hello);
    write(hello);
  }
  ~peer() { ::close(fd_); }
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  void send(std::string_view plain) {
    if (!tls_) return write(plain);
    if (!tls_->handshake_done()) {
      pending_ += plain;  // goes once TLS is up
      return;
    }
    std::string cipher;
    if (!tls_->send(plain, cipher)) ended_ = true;
    write(cipher);
  }

  // Reads until `ready` holds of what arrived: false at the end of the stream, or on timeout.
  bool wait(const std::function<bool(std::string&)>& ready) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (!ready(in_)) {
      if (ended_) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            end - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) {
        timed_out_ = true;
        return false;
      }
      read(static_cast<int>(left));
    }
    return true;
  }
  bool wait_eof() {
    return wait([this](std::string&) { return ended_; });
  }
  bool timed_out() const { return timed_out_; }

 private:
  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the server has gone; the reads will say so
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void read(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      ended_ = true;
      return;
    }
    if (!tls_) {
      in_.append(buf, static_cast<std::size_t>(n));
      return;
    }
    std::string cipher;
    if (!tls_->receive({buf, static_cast<std::size_t>(n)}, in_, cipher)) ended_ = true;
    write(cipher);
    if (tls_->handshake_done() && !pending_.empty()) send(std::exchange(pending_, {}));
  }

  int fd_ = -1;
  std::unique_ptr<net::tls_session> tls_;
  std::string in_, pending_;
  bool ended_ = false;
  bool timed_out_ = false;
};

// What became of one scripted exchange.
struct run_log {
  bool complete = true;   // every step had its answer
  std::string timed_out;  // the first step that waited out wait_ms
  std::vector<std::string> steps_failed;

  // Runs one step: false (and noted) if the peer had ended or the answer never came.
  bool step(peer& p, const char* name, const std::function<bool(std::string&)>& ready) {
    if (p.wait(ready)) return true;
    complete = false;
    steps_failed.emplace_back(name);
    if (p.timed_out() && timed_out.empty()) timed_out = name;
    return false;
  }
  bool end(peer& p, const char* name) {
    if (p.wait_eof()) return true;
    complete = false;
    steps_failed.emplace_back(name);
    if (p.timed_out() && timed_out.empty()) timed_out = name;
    return false;
  }
};

// An HTTP response with its Content-Length body, taken off the front of `in`.
std::function<bool(std::string&)> response(int status, std::string_view body) {
  return [status, body = std::string(body)](std::string& in) {
    const auto head_end = in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const auto cl = in.find("Content-Length: ");
    const std::size_t len = cl < head_end ? std::stoul(in.substr(cl + 16)) : 0;
    if (in.size() < head_end + 4 + len) return false;
    const bool ok =
        in.compare(9, 3, std::to_string(status)) == 0 && in.compare(head_end + 4, len, body) == 0;
    in.erase(0, head_end + 4 + len);
    return ok;
  };
}

// Waits for a frame that `match` accepts; frames before it are dropped.
std::function<bool(std::string&)> frame_where(std::function<bool(const parsed_frame&)> match) {
  return [match = std::move(match)](std::string& in) {
    parsed_frame f;
    while (take_frame(in, f))
      if (match(f)) return true;
    return false;
  };
}

std::function<bool(std::string&)> message(std::string want) {
  return frame_where([want = std::move(want)](const parsed_frame& f) {
    return (f.opcode() == op_text || f.opcode() == op_binary) && f.payload == want;
  });
}

std::function<bool(std::string&)> close_frame(std::uint16_t code) {
  return frame_where(
      [code](const parsed_frame& f) { return f.opcode() == op_close && f.close_code() == code; });
}

std::function<bool(std::string&)> switching() {
  return response(101, "");
}

const std::string upgrade_request =
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

using tls_ptr = std::shared_ptr<net::tls_context>;
using script = void (*)(running_server& srv, const tls_ptr& tls, run_log& log);

// (a) A request on a kept-alive connection, then one that asks the server to close.
void http_exchange(running_server& srv, const tls_ptr& tls, run_log& log) {
  peer p(srv.port(), tls);
  p.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  if (!log.step(p, "first answer", response(200, "hello\n"))) return;
  p.send("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  if (!log.step(p, "second answer", response(200, "hello\n"))) return;
  log.end(p, "server closes");
}

// (b, c) Two WebSockets: A subscribes, has a small and a large (writev) message echoed and a
// ping answered; B publishes to A's topic; A starts the close handshake, the server starts B's.
// A socket the fault ended drops out; the other goes on.
void ws_exchange(running_server& srv, const tls_ptr& tls, run_log& log) {
  const std::string big(40 * 1024, 'b');
  peer a(srv.port(), tls);
  a.send(upgrade_request);
  bool a_ok = log.step(a, "A upgrade", switching());
  if (a_ok) {
    a.send(frame(fin | op_text, "sub:news"));
    a_ok = log.step(a, "A subscribes", message("subscribed"));
  }
  if (a_ok) {
    a.send(frame(fin | op_text, "small"));
    a_ok = log.step(a, "A small echo", message("small"));
  }
  if (a_ok) {
    a.send(frame(fin | op_binary, big));
    a_ok = log.step(a, "A large echo", message(big));
  }
  if (a_ok) {
    a.send(frame(fin | op_ping, "p"));
    a_ok = log.step(a, "A ping", frame_where([](const parsed_frame& f) {
                      return f.opcode() == op_pong && f.payload == "p";
                    }));
  }
  peer b(srv.port(), tls);
  b.send(upgrade_request);
  bool b_ok = log.step(b, "B upgrade", switching());
  if (b_ok) {
    b.send(frame(fin | op_text, "pub:hello"));
    b_ok = log.step(b, "B publishes", message("published"));
  }
  if (a_ok && b_ok) a_ok = log.step(a, "A receives the publication", message("hello"));
  if (a_ok) {
    a.send(frame(fin | op_close, close_payload(1000)));
    if (log.step(a, "A close", close_frame(1000))) log.end(a, "A end");
  }
  if (b_ok) {
    b.send(frame(fin | op_text, "close-me"));
    if (log.step(b, "B closed by the server", close_frame(4000))) {
      b.send(frame(fin | op_close, close_payload(4000)));
      log.end(b, "B end");
    }
  }
}

// (e) Shutdown with a WebSocket open: the server says 1001, the peer answers, run() returns.
void shutdown_exchange(running_server& srv, const tls_ptr& tls, run_log& log) {
  peer a(srv.port(), tls);
  a.send(upgrade_request);
  if (!log.step(a, "upgrade", switching())) return;
  a.send(frame(fin | op_text, "small"));
  if (!log.step(a, "echo", message("small"))) return;
  srv.get().shutdown();
  if (!log.step(a, "close 1001", close_frame(1001))) return;
  a.send(frame(fin | op_close, close_payload(1001)));
  log.end(a, "end");
}

// A new connection once the fault has passed: the server still serves.
void http_again(running_server& srv, const tls_ptr& tls, run_log& log) {
  peer p(srv.port(), tls);
  p.send("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  if (log.step(p, "answer", response(200, "hello\n"))) log.end(p, "end");
}

void ws_again(running_server& srv, const tls_ptr& tls, run_log& log) {
  peer p(srv.port(), tls);
  p.send(upgrade_request);
  if (!log.step(p, "upgrade", switching())) return;
  p.send(frame(fin | op_text, "again"));
  if (!log.step(p, "echo", message("again"))) return;
  p.send(frame(fin | op_close, close_payload(1000)));
  if (log.step(p, "close", close_frame(1000))) log.end(p, "end");
}

// ---- the faults ---------------------------------------------------------------------------

struct flavor {
  const char* name;
  unsigned calls;
  int recv_errno = ECONNRESET;
  int send_errno = EPIPE;
  int accept_errno = EMFILE;
  bool transparent = false;  // the exchange must end exactly as it does without the fault
  bool sticky = false;       // every counted call from the Nth on fails
  int later_send_errno = 0;
};

const flavor flavors[] = {
    {"recv ECONNRESET", call_recv, ECONNRESET},
    {"recv EOF", call_recv, 0},
    {"recv EINTR", call_recv, EINTR, EPIPE, EMFILE, true},
    {"sendmsg EPIPE", call_sendmsg, ECONNRESET, EPIPE},
    {"sendmsg ECONNRESET", call_sendmsg, ECONNRESET, ECONNRESET},
    {"sendmsg EAGAIN", call_sendmsg, ECONNRESET, EAGAIN, EMFILE, true},
    {"sendmsg partial write", call_sendmsg, ECONNRESET, partial_write, EMFILE, true},
    {"sendmsg EINTR", call_sendmsg, ECONNRESET, EINTR, EMFILE, true},
    {"sendmsg partial writes from N on", call_sendmsg, ECONNRESET, partial_write, EMFILE, true,
     true},
    {"sendmsg partial write, then EPIPE", call_sendmsg, ECONNRESET, partial_write, EMFILE, false,
     true, EPIPE},
    {"accept4 EMFILE", call_accept4, ECONNRESET, EPIPE, EMFILE},
    {"accept4 ECONNABORTED", call_accept4, ECONNRESET, EPIPE, ECONNABORTED, true},
    {"TLS fatal error", call_tls},
};

fault_plan plan_for(const flavor& f, std::size_t n, thread_filter filter) {
  fault_plan p;
  p.calls = f.calls;
  p.nth = n;
  p.sticky = f.sticky;
  p.recv_errno = f.recv_errno;
  p.send_errno = f.send_errno;
  p.later_send_errno = f.later_send_errno;
  p.accept_errno = f.accept_errno;
  p.filter = filter;
  p.thread = std::this_thread::get_id();
  return p;
}

std::string describe(const flavor& f, std::size_t n, const fail_count& fc) {
  return std::string(f.name) + ", call " + std::to_string(n) + " (" + call_name(fc.fired_call()) +
         ")";
}

// Failure points per flavor, for the summary a walk prints.
struct tally {
  std::string lines;
  std::vector<std::string> slow;        // runs a timer ended, twice in a row
  std::chrono::milliseconds longest{};  // of the runs that were not
  void add(const flavor& f, std::size_t points) {
    lines += "  " + std::string(f.name) + ": " + std::to_string(points) + " failure points\n";
  }
  // True when the run should be tried again.
  bool timed(std::chrono::steady_clock::duration took, bool& retried, const std::string& what) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took);
    if (ms <= timer_bound) {
      longest = std::max(longest, ms);
      retried = false;
      return false;
    }
    if (!retried) return retried = true;
    slow.push_back(what + ": " + std::to_string(ms.count()) + " ms");
    retried = false;
    return false;
  }
  void print(const char* name, std::chrono::steady_clock::time_point start) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::printf("%s (%lld ms, longest run %lld ms):\n%s", name, static_cast<long long>(ms.count()),
                static_cast<long long>(longest.count()), lines.c_str());
    for (const auto& s : slow)
      std::printf("  slow: %s\n", s.c_str());
    EXPECT_TRUE(slow.empty()) << slow.size() << " faults were noticed only by a timer";
  }
};

struct cert_fixture {
  cert_files certs{"DNS:localhost,IP:127.0.0.1"};
  tls_ptr client_tls() const {
    net::tls_options o;
    o.ca_file = certs.cert;
    return net::tls_context::client(o);
  }
};

// Walks one flavor through a server exchange: N = 1, 2, ... until the exchange makes fewer than
// N counted calls. Only the server's thread counts; the peer is the test's. `again` (none after
// a shutdown) is a fresh connection once the fault has passed.
std::size_t walk_server(script exchange, script again, const cert_fixture* tls, const flavor& f,
                        tally& t) {
  const cert_files* certs = tls != nullptr ? &tls->certs : nullptr;
  const tls_ptr peer_tls = tls != nullptr ? tls->client_tls() : nullptr;
  bool retried = false;
  for (std::size_t n = 1; n < 2000; ++n) {
    registry reg;
    running_server srv(options(certs), routes(reg));
    fail_count fc(plan_for(f, n, thread_filter::all_but));
    const auto start = std::chrono::steady_clock::now();
    run_log log;
    exchange(srv, peer_tls, log);
    // The server lets go of every socket of the exchange before the count ends.
    const bool drained = settled([&] { return srv.get().connection_count() == 0; });
    const auto took = std::chrono::steady_clock::now() - start;
    fc.disarm();
    const bool fired = fc.fired();
    SCOPED_TRACE(describe(f, n, fc));
    EXPECT_TRUE(drained) << srv.get().connection_count() << " connections left";
    EXPECT_TRUE(log.timed_out.empty()) << "waited out the timeout at: " << log.timed_out;
    if (!fired || f.transparent) {
      EXPECT_TRUE(log.complete) << "failed step: " << log.steps_failed.front();
    }
    EXPECT_TRUE(settled([&] { return reg.all_freed(); }));
    EXPECT_EQ(reg.problems(), "");
    if (again != nullptr) {
      run_log fresh;
      again(srv, peer_tls, fresh);
      EXPECT_TRUE(fresh.complete) << "the server stopped serving: " << fresh.steps_failed.front();
      EXPECT_TRUE(settled([&] { return srv.get().connection_count() == 0; }));
      EXPECT_TRUE(settled([&] { return reg.all_freed(); }));
      EXPECT_EQ(reg.problems(), "");
    }
    EXPECT_EQ(srv.get().exception_count(), 0u);
    srv.stop();
    if (::testing::Test::HasFailure()) return n;
    // A fault the glue should notice at once, but that a timer had to end.
    const std::string what =
        describe(f, n, fc) +
        (log.steps_failed.empty() ? std::string() : ", failed at " + log.steps_failed.front());
    if (t.timed(took, retried, what)) {
      --n;
      continue;
    }
    if (!fired) return n - 1;
  }
  ADD_FAILURE() << "the walk did not end";
  return 0;
}

void walk_all(const char* name, script exchange, script again, const cert_fixture* tls) {
  tally t;
  const auto start = std::chrono::steady_clock::now();
  for (const flavor& f : flavors) {
    if (f.calls == call_tls && tls == nullptr) continue;
    const std::size_t points = walk_server(exchange, again, tls, f, t);
    t.add(f, points);
    if (::testing::Test::HasFailure()) break;
    // Every exchange reads and writes: none found means the seam is not wired to the glue.
    if (f.calls == call_recv || f.calls == call_sendmsg) {
      EXPECT_GT(points, 0u) << f.name;
    }
  }
  t.print(name, start);
}

TEST(GlueFaults, ServerHttp) {
  walk_all("server, HTTP", http_exchange, http_again, nullptr);
}

TEST(GlueFaults, ServerHttpOverTls) {
  cert_fixture tls;
  ASSERT_TRUE(tls.certs.ok) << "openssl could not make a test certificate";
  walk_all("server, HTTPS", http_exchange, http_again, &tls);
}

TEST(GlueFaults, ServerWebSocket) {
  walk_all("server, WebSocket", ws_exchange, ws_again, nullptr);
}

TEST(GlueFaults, ServerShutdown) {
  walk_all("server, shutdown", shutdown_exchange, nullptr, nullptr);
}

TEST(GlueFaults, ServerShutdownOverTls) {
  cert_fixture tls;
  ASSERT_TRUE(tls.certs.ok) << "openssl could not make a test certificate";
  walk_all("server, shutdown over TLS", shutdown_exchange, nullptr, &tls);
}

TEST(GlueFaults, ServerWebSocketOverTls) {
  cert_fixture tls;
  ASSERT_TRUE(tls.certs.ok) << "openssl could not make a test certificate";
  walk_all("server, WebSocket over TLS", ws_exchange, ws_again, &tls);
}

// ---- the client ---------------------------------------------------------------------------

struct client_run {
  int opens = 0, closes = 0, errors = 0;
  int late = 0;  // callbacks after on_close or on_error
  std::vector<std::string> messages;
  int pongs = 0;
  int code = 0;
  std::string error;
  bool limit_reached = false;
  std::uint64_t exceptions = 0;
  std::chrono::milliseconds took{};
};

// (d) Connect, have a small and a large message echoed and a ping answered, then close: the
// client starts the close handshake, or (`server_closes`) asks the server to. The loop runs on
// after the close until the server has let go too, so that the client's last reads count.
client_run run_client(const std::string& url, const client_options& opts, server& srv,
                      bool server_closes) {
  const auto start = std::chrono::steady_clock::now();
  const std::string big(40 * 1024, 'c');
  client_run r;
  net::event_loop loop;
  bool ended = false;
  int quiet = 0;
  client_handlers h;
  auto maybe_close = [&](client& c) {
    if (r.messages.size() != 2 || r.pongs != 1) return;
    if (server_closes) {
      c.send("close-me");
    } else {
      c.close(ws::close_code::normal, "done");
    }
  };
  h.on_open = [&](client& c) {
    r.late += ended;
    ++r.opens;
    c.send("small");
    c.send(big, ws::opcode::binary);
    c.ping("p");
  };
  h.on_message = [&](client& c, std::string_view d, ws::opcode) {
    r.late += ended;
    r.messages.emplace_back(d);
    maybe_close(c);
  };
  h.on_pong = [&](client& c, std::string_view) {
    r.late += ended;
    ++r.pongs;
    maybe_close(c);
  };
  h.on_close = [&](client&, ws::close_code code_typed, std::string_view) {
    const std::uint16_t code = duplex::ws::to_int(code_typed);
    r.late += ended;
    ++r.closes;
    r.code = code;
    ended = true;
  };
  h.on_error = [&](client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    r.late += ended;
    ++r.errors;
    r.error = why;
    ended = true;
  };
  {
    client c(loop, opts, h);
    loop.add_timer(
        1ms,
        [&] {
          if (ended && srv.connection_count() == 0 && ++quiet >= 3) loop.stop();
        },
        true);
    loop.add_timer(std::chrono::milliseconds(3 * wait_ms), [&] {
      r.limit_reached = true;
      loop.stop();
    });
    c.connect(url);
    loop.run();
  }
  r.exceptions = loop.exception_count();
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  return r;
}

// Every run, faulted or not, keeps the client's promises.
void check_client(const client_run& r) {
  EXPECT_FALSE(r.limit_reached) << "the client never ended";
  EXPECT_EQ(r.late, 0) << "callbacks after on_close or on_error";
  EXPECT_EQ(r.exceptions, 0u);
  EXPECT_LE(r.opens, 1);
  if (r.opens == 1) {
    EXPECT_EQ(r.closes, 1);
    EXPECT_EQ(r.errors, 0) << r.error;
  } else {
    EXPECT_EQ(r.errors, 1);
    EXPECT_EQ(r.closes, 0);
  }
}

void check_complete(const client_run& r, bool server_closes) {
  ASSERT_EQ(r.messages.size(), 2u) << r.error;
  EXPECT_EQ(r.messages[0], "small");
  EXPECT_EQ(r.messages[1], std::string(40 * 1024, 'c'));
  EXPECT_EQ(r.pongs, 1);
  EXPECT_EQ(r.code, server_closes ? 4000 : 1000);
}

// Only the client's thread (this one) counts: the server's calls pass.
std::size_t walk_client(const cert_fixture* tls, bool server_closes, const flavor& f, tally& t) {
  const cert_files* certs = tls != nullptr ? &tls->certs : nullptr;
  client_options opts;
  opts.open_timeout = 1000ms;
  opts.close_timeout = 200ms;
  if (tls != nullptr) opts.tls.ca_file = tls->certs.cert;
  bool retried = false;
  for (std::size_t n = 1; n < 2000; ++n) {
    registry reg;
    running_server srv(options(certs), routes(reg));
    const std::string url = std::string(tls != nullptr ? "wss" : "ws") +
                            "://127.0.0.1:" + std::to_string(srv.port()) + "/";
    fail_count fc(plan_for(f, n, thread_filter::only));
    const client_run r = run_client(url, opts, srv.get(), server_closes);
    fc.disarm();
    const bool fired = fc.fired();
    SCOPED_TRACE(describe(f, n, fc));
    check_client(r);
    if (!fired || f.transparent) check_complete(r, server_closes);
    EXPECT_TRUE(settled([&] { return srv.get().connection_count() == 0; }));
    EXPECT_TRUE(settled([&] { return reg.all_freed(); }));
    EXPECT_EQ(reg.problems(), "");
    // Once the fault has passed, the next connection on this thread works end to end.
    const client_run again = run_client(url, opts, srv.get(), server_closes);
    check_client(again);
    check_complete(again, server_closes);
    EXPECT_EQ(srv.get().exception_count(), 0u);
    srv.stop();
    if (::testing::Test::HasFailure()) return n;
    // A fault the client should notice at once, but that left it waiting for a timer.
    if (t.timed(r.took, retried, describe(f, n, fc) + (r.error.empty() ? "" : ", " + r.error))) {
      --n;
      continue;
    }
    if (!fired) return n - 1;
  }
  ADD_FAILURE() << "the walk did not end";
  return 0;
}

void walk_all_client(const char* name, const cert_fixture* tls, bool server_closes) {
  tally t;
  const auto start = std::chrono::steady_clock::now();
  for (const flavor& f : flavors) {
    if (f.calls == call_accept4 || (f.calls == call_tls && tls == nullptr)) continue;
    const std::size_t points = walk_client(tls, server_closes, f, t);
    t.add(f, points);
    if (::testing::Test::HasFailure()) break;
    if (f.calls == call_recv || f.calls == call_sendmsg) {
      EXPECT_GT(points, 0u) << f.name;
    }
  }
  t.print(name, start);
}

TEST(GlueFaults, Client) {
  walk_all_client("client, ws://", nullptr, false);
}

TEST(GlueFaults, ClientClosedByServer) {
  walk_all_client("client, ws://, closed by the server", nullptr, true);
}

TEST(GlueFaults, ClientOverTls) {
  cert_fixture tls;
  ASSERT_TRUE(tls.certs.ok) << "openssl could not make a test certificate";
  walk_all_client("client, wss://", &tls, false);
}

TEST(GlueFaults, ClientOverTlsClosedByServer) {
  cert_fixture tls;
  ASSERT_TRUE(tls.certs.ok) << "openssl could not make a test certificate";
  walk_all_client("client, wss://, closed by the server", &tls, true);
}

}  // namespace
}  // namespace duplex
