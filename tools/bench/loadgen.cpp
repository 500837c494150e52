#include "loadgen.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "duplex/ws/frame.hpp"
#include "tls_link.hpp"

namespace duplex::bench {
namespace {

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Servers cannot tell a fixed key from a random one; a fixed key lets every frame be built once.
constexpr ws::mask_key bench_mask{0x37, 0xfa, 0x21, 0x3d};

std::string masked_frame(ws::opcode op, std::string_view payload) {
  std::string out(ws::max_header_size + payload.size(), '\0');
  const std::size_t h = ws::write_header(out.data(), true, op, payload.size(), &bench_mask);
  std::memcpy(out.data() + h, payload.data(), payload.size());
  ws::apply_mask(out.data() + h, payload.size(), bench_mask, 0);
  out.resize(h + payload.size());
  return out;
}

sockaddr_storage resolve(const config& cfg, socklen_t& len) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(cfg.port);
  if (getaddrinfo(cfg.host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    throw std::runtime_error("cannot resolve " + cfg.host);
  sockaddr_storage addr{};
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  len = found->ai_addrlen;
  freeaddrinfo(found);
  return addr;
}

// A parsed frame header: how many bytes it took and what it announced.
struct header {
  std::size_t length = 0;  // 0: incomplete
  std::uint64_t payload = 0;
  std::uint8_t op = 0;
  bool fin = false;
};

header parse_header(const std::uint8_t* p, std::size_t n) noexcept {
  header h;
  if (n < 2) return h;
  const unsigned len7 = p[1] & 0x7F;
  const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const std::size_t need = 2 + ext + ((p[1] & 0x80) ? 4 : 0);
  if (n < need) return h;
  std::uint64_t size = len7;
  if (ext) {
    size = 0;
    for (std::size_t i = 0; i < ext; ++i)
      size = (size << 8) | p[2 + i];
  }
  h.length = need;
  h.payload = size;
  h.op = p[0] & 0x0F;
  h.fin = (p[0] & 0x80) != 0;
  return h;
}

enum class phase : std::uint8_t { idle, connecting, securing, upgrading, open, closing };

struct conn {
  int fd = -1;
  ssl_st* ssl = nullptr;  // with --tls, once connected
  phase ph = phase::idle;
  bool sender = false;
  bool writable_armed = false;
  std::uint8_t hdr_len = 0;
  std::uint8_t op = 0;  // opcode of the frame being read
  bool fin = false;
  std::array<std::uint8_t, ws::max_header_size> hdr{};
  std::uint64_t payload_left = 0;
  std::uint64_t want = 0;  // bytes of the repeated outgoing frame requested so far
  std::uint64_t sent = 0;
  std::uint32_t ring_head = 0;
  std::uint32_t ring_count = 0;
  std::string head;  // the handshake response, until its blank line
};

// The socket calls, through TLS when the socket has a session.
ssize_t io_recv(conn& c, char* buf, std::size_t len) {
  return c.ssl ? tls_recv(c.ssl, buf, len) : recv(c.fd, buf, len, 0);
}

ssize_t io_send(conn& c, const char* buf, std::size_t len) {
  return c.ssl ? tls_send(c.ssl, buf, len) : send(c.fd, buf, len, MSG_NOSIGNAL);
}

}  // namespace

class worker {
 public:
  worker(const config& cfg, shared_state& shared, const sockaddr_storage& addr, socklen_t len,
         unsigned sockets, bool publisher, const tls_client* tls);
  ~worker();
  void run();

  counters totals;
  histogram latency;
  std::string tls_info;  // what the first TLS handshake settled on

 private:
  void start(std::size_t i);
  void drop(std::size_t i, bool failed);
  void on_event(std::size_t i, std::uint32_t events);
  void on_connected(std::size_t i);
  void secure(std::size_t i);
  void upgrade(std::size_t i);
  void on_readable(std::size_t i);
  void on_upgrade_bytes(std::size_t i, const char* p, std::size_t n);
  void on_open(std::size_t i);
  void on_frames(std::size_t i, const std::uint8_t* p, std::size_t n);
  void on_frame_end(std::size_t i);
  void request(std::size_t i, unsigned frames);
  void flush(std::size_t i);
  void arm_writable(std::size_t i, bool on);
  void start_pending();
  void publish_if_ready();

  const config& cfg_;
  shared_state& shared_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
  const tls_client* tls_;
  int epoll_ = -1;
  std::vector<conn> conns_;
  std::vector<std::uint64_t> stamps_;  // in_flight send times per sender, as a ring
  std::deque<std::size_t> pending_;    // sockets waiting for a connect slot
  unsigned connecting_ = 0;
  std::string frame_;     // the one message every sender sends
  std::string batch_;     // frame_ repeated, so that one send carries many
  std::string close_;     // a masked close frame, code 1000
  std::string upgrade_;   // the upgrade request
  std::vector<char> rx_;  // one receive buffer for every socket of this worker
  std::uint64_t now_ = 0;
  std::size_t publisher_ = SIZE_MAX;
  bool published_ = false;
  std::uint64_t messages_ = 0, bytes_ = 0;  // flushed into totals once per loop iteration
};

namespace {
constexpr unsigned connect_window = 256;  // connects in progress per worker
}

worker::worker(const config& cfg, shared_state& shared, const sockaddr_storage& addr, socklen_t len,
               unsigned sockets, bool publisher, const tls_client* tls)
    : cfg_(cfg), shared_(shared), addr_(addr), addr_len_(len), tls_(tls), rx_(256 * 1024) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error("epoll_create1 failed");
  std::string payload(cfg.size, cfg.binary ? '\xA5' : 'x');
  // With compression offered, text that compresses as chat text does (about 3:1), not one
  // letter repeated (which any compressor reduces to nothing).
  static constexpr std::string_view words[] = {"alice", "said",  "the",   "build", "is",
                                               "green", "again", "after", "lunch", "ok"};
  if (!cfg.extensions.empty() && !cfg.binary) {
    payload.clear();
    for (unsigned x = 1; payload.size() < cfg.size; x = x * 1103515245 + 12345)
      payload.append(words[(x >> 16) % 10]).append(" ");
    payload.resize(cfg.size);
  }
  frame_ = masked_frame(cfg.binary ? ws::opcode::binary : ws::opcode::text, payload);
  const std::size_t copies = std::clamp<std::size_t>(64 * 1024 / frame_.size(), 1, cfg.in_flight);
  for (std::size_t i = 0; i < copies; ++i)
    batch_ += frame_;
  close_ = masked_frame(ws::opcode::close, std::string_view("\x03\xE8", 2));
  upgrade_ = "GET " + cfg.path + " HTTP/1.1\r\nHost: " + cfg.host + ":" + std::to_string(cfg.port) +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
             (cfg.extensions.empty() ? std::string()
                                     : "Sec-WebSocket-Extensions: " + cfg.extensions + "\r\n") +
             "\r\n";
  conns_.resize(sockets + (publisher ? 1 : 0));
  const bool all_send = cfg.mode == mode::echo || cfg.mode == mode::large;
  for (auto& c : conns_)
    c.sender = all_send;
  if (publisher) {
    publisher_ = conns_.size() - 1;
    conns_[publisher_].sender = true;
  }
  stamps_.resize(conns_.size() * cfg.in_flight);
  for (std::size_t i = 0; i < conns_.size(); ++i)
    pending_.push_back(i);
}

worker::~worker() {
  for (auto& c : conns_) {
    if (c.ssl) tls_free(c.ssl);
    if (c.fd >= 0) close(c.fd);
  }
  if (epoll_ >= 0) close(epoll_);
}

void worker::run() {
  std::vector<epoll_event> events(512);
  start_pending();
  while (!shared_.stop.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 20);
    now_ = now_ns();
    for (int e = 0; e < n; ++e)
      on_event(events[e].data.u64, events[e].events);
    publish_if_ready();
    start_pending();
    totals.messages.fetch_add(messages_, std::memory_order_relaxed);
    totals.bytes.fetch_add(bytes_, std::memory_order_relaxed);
    messages_ = bytes_ = 0;
  }
}

void worker::start_pending() {
  while (!pending_.empty() && connecting_ < connect_window) {
    const std::size_t i = pending_.front();
    pending_.pop_front();
    start(i);
  }
}

void worker::start(std::size_t i) {
  conn& c = conns_[i];
  const bool sender = c.sender;
  c = conn{};
  c.sender = sender;
  c.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    totals.errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  if (rc < 0 && errno != EINPROGRESS) {
    drop(i, true);
    return;
  }
  c.ph = phase::connecting;
  ++connecting_;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = i;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
  c.writable_armed = true;
}

// Closes socket i. A handshake-mode slot starts over; elsewhere a lost socket is an error.
void worker::drop(std::size_t i, bool failed) {
  conn& c = conns_[i];
  if (c.ph == phase::connecting || c.ph == phase::securing || c.ph == phase::upgrading)
    --connecting_;
  if (c.ph == phase::open || c.ph == phase::closing)
    totals.open.fetch_sub(1, std::memory_order_relaxed);
  if (failed) totals.errors.fetch_add(1, std::memory_order_relaxed);
  if (c.ssl) tls_free(c.ssl);
  c.ssl = nullptr;
  if (c.fd >= 0) close(c.fd);  // close() also removes it from the epoll set
  c.fd = -1;
  c.ph = phase::idle;
  if (cfg_.mode == mode::handshake && !shared_.stop.load(std::memory_order_relaxed))
    pending_.push_back(i);
}

void worker::on_event(std::size_t i, std::uint32_t events) {
  conn& c = conns_[i];
  if (c.fd < 0) return;
  if (c.ph == phase::connecting) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(i);
    return;
  }
  if (c.ph == phase::securing) return secure(i);
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(i);
  if (c.fd >= 0 && (events & EPOLLOUT)) flush(i);
}

void worker::on_connected(std::size_t i) {
  conn& c = conns_[i];
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return drop(i, true);
  arm_writable(i, false);
  if (cfg_.raw) {
    --connecting_;
    return on_open(i);
  }
  if (!tls_) return upgrade(i);
  c.ssl = tls_->attach(c.fd);
  if (!c.ssl) return drop(i, true);
  c.ph = phase::securing;
  secure(i);
}

void worker::secure(std::size_t i) {
  conn& c = conns_[i];
  switch (tls_handshake(c.ssl)) {
    case tls_progress::done:
      if (tls_info.empty()) tls_info = tls_describe(c.ssl);
      return upgrade(i);
    case tls_progress::want_read:
      return arm_writable(i, false);
    case tls_progress::want_write:
      return arm_writable(i, true);
    case tls_progress::failed:
      return drop(i, true);
  }
}

void worker::upgrade(std::size_t i) {
  conn& c = conns_[i];
  arm_writable(i, false);
  c.ph = phase::upgrading;
  if (io_send(c, upgrade_.data(), upgrade_.size()) != static_cast<ssize_t>(upgrade_.size()))
    drop(i, true);
}

// Over TLS, OpenSSL may hold plaintext the socket no longer signals: it is read before leaving.
void worker::on_readable(std::size_t i) {
  conn& c = conns_[i];
  do {
    const ssize_t n = io_recv(c, rx_.data(), rx_.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      const bool expected = c.ph == phase::closing;
      if (expected) totals.handshakes.fetch_add(1, std::memory_order_relaxed);
      return drop(i, !expected);
    }
    const auto size = static_cast<std::size_t>(n);
    if (c.ph == phase::upgrading) {
      on_upgrade_bytes(i, rx_.data(), size);
    } else {
      on_frames(i, reinterpret_cast<const std::uint8_t*>(rx_.data()), size);
      if (c.fd >= 0) flush(i);
    }
  } while (c.fd >= 0 && c.ssl && tls_pending(c.ssl));
}

void worker::on_upgrade_bytes(std::size_t i, const char* p, std::size_t n) {
  conn& c = conns_[i];
  c.head.append(p, n);
  const auto end = c.head.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.head.size() > 16 * 1024) drop(i, true);
    return;
  }
  if (c.head.compare(0, 12, "HTTP/1.1 101") != 0) return drop(i, true);
  const std::string rest = c.head.substr(end + 4);
  std::string().swap(c.head);
  --connecting_;
  on_open(i);
  if (c.fd >= 0 && !rest.empty())
    on_frames(i, reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size());
  if (c.fd >= 0) flush(i);
}

void worker::on_open(std::size_t i) {
  conn& c = conns_[i];
  c.ph = phase::open;
  totals.open.fetch_add(1, std::memory_order_relaxed);
  if (cfg_.mode == mode::handshake) {
    c.ph = phase::closing;
    if (io_send(c, close_.data(), close_.size()) != static_cast<ssize_t>(close_.size()))
      drop(i, true);
    return;
  }
  if (c.sender && i != publisher_) request(i, cfg_.in_flight);
  if (cfg_.mode == mode::idle && cfg_.warm) request(i, 1);
  flush(i);
}

void worker::publish_if_ready() {
  if (published_ || publisher_ == SIZE_MAX || !shared_.publish.load(std::memory_order_relaxed))
    return;
  if (conns_[publisher_].ph != phase::open) return;
  published_ = true;
  request(publisher_, cfg_.in_flight);
  flush(publisher_);
}

// Frames arrive in any split; the header is gathered in c.hdr only when a read cuts it.
void worker::on_frames(std::size_t i, const std::uint8_t* p, std::size_t n) {
  conn& c = conns_[i];
  while (n > 0 && c.fd >= 0) {
    if (c.payload_left > 0) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, c.payload_left));
      c.payload_left -= take;
      p += take;
      n -= take;
      if (c.op < 0x8) bytes_ += take;
      if (c.payload_left == 0) on_frame_end(i);
      continue;
    }
    header h;
    if (c.hdr_len == 0) {
      h = parse_header(p, n);
      if (h.length == 0) {
        std::memcpy(c.hdr.data(), p, n);
        c.hdr_len = static_cast<std::uint8_t>(n);
        return;
      }
      p += h.length;
      n -= h.length;
    } else {
      const std::size_t old = c.hdr_len;
      const std::size_t add = std::min(n, c.hdr.size() - old);
      std::memcpy(c.hdr.data() + old, p, add);
      h = parse_header(c.hdr.data(), old + add);
      if (h.length == 0) {
        c.hdr_len = static_cast<std::uint8_t>(old + add);
        return;
      }
      c.hdr_len = 0;
      p += h.length - old;
      n -= h.length - old;
    }
    c.op = h.op;
    c.fin = h.fin;
    c.payload_left = h.payload;
    if (h.payload == 0) on_frame_end(i);
  }
}

// Pings are not answered: every run is shorter than any server's keepalive interval.
void worker::on_frame_end(std::size_t i) {
  conn& c = conns_[i];
  if (c.op == 0x8) {
    if (c.ph == phase::closing) {
      shutdown(c.fd, SHUT_WR);  // the server may wait for our FIN before it closes
      return;
    }
    return drop(i, true);
  }
  if (c.op >= 0x8 || !c.fin) return;
  ++messages_;
  if (!c.sender) return;
  const std::size_t base = i * cfg_.in_flight;
  if (c.ring_count > 0) {
    if (shared_.measuring.load(std::memory_order_relaxed))
      latency.record(now_ - stamps_[base + c.ring_head]);
    c.ring_head = (c.ring_head + 1) % cfg_.in_flight;
    --c.ring_count;
  }
  if (i == publisher_ && !published_) return;
  request(i, 1);
}

void worker::request(std::size_t i, unsigned frames) {
  conn& c = conns_[i];
  const std::size_t base = i * cfg_.in_flight;
  for (unsigned f = 0; f < frames && c.ring_count < cfg_.in_flight; ++f) {
    stamps_[base + (c.ring_head + c.ring_count) % cfg_.in_flight] = now_;
    ++c.ring_count;
  }
  c.want += frames * frame_.size();
}

// The outgoing stream is one frame repeated, so any offset in it maps into batch_.
void worker::flush(std::size_t i) {
  conn& c = conns_[i];
  while (c.sent < c.want) {
    const std::size_t off = c.sent % batch_.size();
    const std::size_t len =
        static_cast<std::size_t>(std::min<std::uint64_t>(c.want - c.sent, batch_.size() - off));
    const ssize_t n = io_send(c, batch_.data() + off, len);
    if (n > 0) {
      c.sent += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return arm_writable(i, true);
    return drop(i, true);
  }
  if (c.writable_armed) arm_writable(i, false);
}

void worker::arm_writable(std::size_t i, bool on) {
  conn& c = conns_[i];
  if (c.writable_armed == on) return;
  c.writable_armed = on;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

load::load(const config& cfg) {
  socklen_t len = 0;
  const sockaddr_storage addr = resolve(cfg, len);
  if (cfg.tls) tls_ = std::make_unique<tls_client>();
  const unsigned threads = std::max(1u, cfg.threads);
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned share = cfg.connections / threads + (t < cfg.connections % threads ? 1 : 0);
    const bool publisher = cfg.mode == mode::fanout && t == 0;
    workers_.push_back(
        std::make_unique<worker>(cfg, shared_, addr, len, share, publisher, tls_.get()));
  }
  for (auto& w : workers_)
    threads_.emplace_back([&w] { w->run(); });
}

load::~load() {
  finish();
}

histogram load::finish() {
  shared_.stop = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  histogram merged;
  for (auto& w : workers_)
    merged.merge(w->latency);
  return merged;
}

// Read after finish(): the workers no longer write it.
std::string load::tls_description() const {
  for (auto& w : workers_)
    if (!w->tls_info.empty()) return w->tls_info;
  return {};
}

// Sums one counter over the workers, each read without stopping them.
template <class T>
T load::sum(std::atomic<T> counters::*field) const {
  T total = 0;
  for (auto& w : workers_)
    total += (w->totals.*field).load(std::memory_order_relaxed);
  return total;
}

std::uint64_t load::messages() const {
  return sum(&counters::messages);
}
std::uint64_t load::bytes() const {
  return sum(&counters::bytes);
}
std::uint64_t load::handshakes() const {
  return sum(&counters::handshakes);
}
std::uint64_t load::errors() const {
  return sum(&counters::errors);
}
unsigned load::open() const {
  return sum(&counters::open);
}

}  // namespace duplex::bench
