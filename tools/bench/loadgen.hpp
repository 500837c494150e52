// The load generator's workers: one epoll loop per thread driving many WebSocket client sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "histogram.hpp"

namespace duplex::bench {

enum class mode { echo, fanout, handshake, idle, large, chat };

struct config {
  bench::mode mode = mode::echo;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8030;
  std::string path = "/";
  unsigned connections = 100;  // echo/idle: sockets; fanout: subscribers; handshake: in parallel
  unsigned in_flight = 1;      // messages outstanding per sending socket
  std::size_t size = 20;       // payload bytes
  bool binary = false;
  bool raw = false;  // no handshake, and masked frames accepted back (a raw TCP echo)
  bool tls = false;  // wss: TLS on every socket, the server's certificate not verified
  unsigned threads = 1;
  // Sec-WebSocket-Extensions offered in the upgrade (empty: none). Compressed frames are
  // counted, not inflated: the load is on the server's side.
  std::string extensions;
  bool warm = false;  // idle: each socket sends one message and gets its answer, then idles
};

// Totals a worker publishes while it runs; read by the main thread for progress and windows.
struct counters {
  std::atomic<std::uint64_t> messages{0};  // data messages received
  std::atomic<std::uint64_t> bytes{0};     // payload bytes received
  std::atomic<std::uint64_t> handshakes{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<unsigned> open{0};  // sockets past the upgrade
};

struct shared_state {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<bool> publish{false};  // fanout: subscribers are in, the publisher may start
};

class worker;
class tls_client;

// Starts `cfg.threads` workers that split the sockets between them.
class load {
 public:
  explicit load(const config& cfg);
  ~load();
  load(const load&) = delete;
  load& operator=(const load&) = delete;

  void start_publishing() noexcept { shared_.publish = true; }
  void set_measuring(bool on) noexcept { shared_.measuring = on; }
  // Sums of every worker's counters at this moment.
  std::uint64_t messages() const;
  std::uint64_t bytes() const;
  std::uint64_t handshakes() const;
  std::uint64_t errors() const;
  unsigned open() const;
  // Stops and joins the workers; returns the merged latency histogram of the measured window.
  histogram finish();
  // Protocol and cipher of the first TLS handshake ("" without --tls); valid after finish().
  std::string tls_description() const;

 private:
  template <class T>
  T sum(std::atomic<T> counters::*field) const;

  std::unique_ptr<tls_client> tls_;  // declared before the workers, which use it
  shared_state shared_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace duplex::bench
