// duplex-bench: a WebSocket load generator measuring any server's echo, fan-out, handshake,
// idle-memory and large-message performance, with the server's CPU and memory read from /proc;
// and duplex-chat nodes under a chat load (users in rooms, end-to-end latency).
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "chat_load.hpp"
#include "loadgen.hpp"
#include "proc_stats.hpp"

namespace {

using namespace duplex::bench;
using clock_type = std::chrono::steady_clock;

struct options {
  config cfg;
  double warmup = 0.5;
  double duration = 3;
  double hold = 1;
  int pid = 0;
  bool json = false;
  bool quiet = false;
  std::string label;
  chat_config chat;
};

struct snapshot {
  std::uint64_t messages = 0, bytes = 0, handshakes = 0;
  std::optional<double> cpu;
  clock_type::time_point at;
};

snapshot take(const load& l, int pid) {
  snapshot s{l.messages(), l.bytes(), l.handshakes(), std::nullopt, clock_type::now()};
  if (pid > 0) s.cpu = cpu_seconds(pid);
  return s;
}

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

bool wait_open(const load& l, unsigned want, double seconds, bool quiet) {
  const auto deadline = clock_type::now() + std::chrono::duration<double>(seconds);
  while (l.open() < want) {
    // Sockets that failed are not retried: once they account for the shortfall, stop waiting.
    const bool hopeless = l.open() + l.errors() >= want;
    if (hopeless || clock_type::now() > deadline) {
      std::fprintf(stderr, "duplex-bench: only %u of %u sockets opened (%llu errors)\n", l.open(),
                   want, static_cast<unsigned long long>(l.errors()));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!quiet) std::fprintf(stderr, "  %u sockets open\n", want);
  return true;
}

double seconds_between(const snapshot& a, const snapshot& b) {
  return std::chrono::duration<double>(b.at - a.at).count();
}

// Sleeps through the window, printing the rate of the last second to stderr.
void run_window(const load& l, const options& o) {
  const auto end = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                           std::chrono::duration<double>(o.duration));
  snapshot last = take(l, 0);
  while (clock_type::now() < end) {
    const auto step =
        std::min(end - clock_type::now(), clock_type::duration(std::chrono::seconds(1)));
    std::this_thread::sleep_for(step);
    const snapshot now = take(l, 0);
    const double dt = seconds_between(last, now);
    if (!o.quiet && dt > 0) {
      const bool hs = o.cfg.mode == mode::handshake;
      const auto count = hs ? now.handshakes - last.handshakes : now.messages - last.messages;
      std::fprintf(stderr, "  %10.0f %s/s  %u open  %llu errors\n", static_cast<double>(count) / dt,
                   hs ? "handshakes" : "messages", l.open(),
                   static_cast<unsigned long long>(l.errors()));
    }
    last = now;
  }
}

nlohmann::json measure(const options& o) {
  load l(o.cfg);
  const unsigned expected = o.cfg.connections + (o.cfg.mode == mode::fanout ? 1 : 0);
  if (o.cfg.mode != mode::handshake && !wait_open(l, expected, 60, o.quiet))
    throw std::runtime_error("the server did not accept every connection");
  if (o.cfg.mode == mode::fanout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // subscriptions settle
    l.start_publishing();
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const snapshot a = take(l, o.pid);
  l.set_measuring(true);
  run_window(l, o);
  const snapshot b = take(l, o.pid);
  l.set_measuring(false);
  const histogram h = l.finish();

  const double secs = seconds_between(a, b);
  nlohmann::json r;
  if (o.cfg.tls) r["tls"] = l.tls_description();
  r["seconds"] = secs;
  r["messages_per_sec"] = static_cast<double>(b.messages - a.messages) / secs;
  r["mb_per_sec"] = static_cast<double>(b.bytes - a.bytes) / secs / 1e6;
  r["handshakes_per_sec"] = static_cast<double>(b.handshakes - a.handshakes) / secs;
  r["latency_us"] = {{"p50", static_cast<double>(h.quantile(0.5)) / 1e3},
                     {"p99", static_cast<double>(h.quantile(0.99)) / 1e3},
                     {"p99.9", static_cast<double>(h.quantile(0.999)) / 1e3}};
  r["errors"] = l.errors();
  if (a.cpu && b.cpu) {
    const double cpu = *b.cpu - *a.cpu;
    r["server_cpu_seconds"] = cpu;
    const bool hs = o.cfg.mode == mode::handshake;
    const auto count = hs ? b.handshakes - a.handshakes : b.messages - a.messages;
    if (cpu > 0) r["per_server_cpu_second"] = static_cast<double>(count) / cpu;
  }
  return r;
}

// Memory per connection counts anonymous pages: the first handshakes also page in library code
// (SHA-1, the parsers), a one-time cost that VmRSS would spread over the sockets.
nlohmann::json measure_idle(const options& o) {
  if (o.pid <= 0) throw std::runtime_error("idle needs --pid of the server");
  const auto anon_before = status_bytes(o.pid, "RssAnon");
  const auto rss_before = status_bytes(o.pid, "VmRSS");
  load l(o.cfg);
  if (!wait_open(l, o.cfg.connections, 120, o.quiet))
    throw std::runtime_error("the server did not accept every connection");
  std::this_thread::sleep_for(std::chrono::duration<double>(o.hold));
  const auto anon_after = status_bytes(o.pid, "RssAnon");
  const auto rss_after = status_bytes(o.pid, "VmRSS");
  l.finish();
  if (!anon_before || !anon_after || !rss_before || !rss_after)
    throw std::runtime_error("cannot read the server's memory from /proc");
  nlohmann::json r;
  if (o.cfg.tls) r["tls"] = l.tls_description();
  const auto per = [&](std::uint64_t a, std::uint64_t b) {
    return (static_cast<double>(b) - static_cast<double>(a)) / o.cfg.connections;
  };
  r["bytes_per_connection"] = per(*anon_before, *anon_after);
  r["rss_bytes_per_connection"] = per(*rss_before, *rss_after);
  r["rss_anon_before_bytes"] = *anon_before;
  r["rss_anon_after_bytes"] = *anon_after;
  r["errors"] = l.errors();
  return r;
}

void print_text(const options& o, const nlohmann::json& r) {
  const auto& c = o.cfg;
  std::printf("%s%s%s: %u connections, %u in flight, %zu B %s, %s\n", o.label.c_str(),
              o.label.empty() ? "" : " ", c.path.c_str(), c.connections, c.in_flight, c.size,
              c.binary ? "binary" : "text",
              c.raw   ? "raw TCP"
              : c.tls ? "WebSocket over TLS"
                      : "WebSocket");
  if (r.contains("tls")) std::printf("  TLS           %s\n", r["tls"].get<std::string>().c_str());
  if (r.contains("bytes_per_connection")) {
    std::printf("  server memory per connection  %.0f B anonymous, %.0f B resident\n",
                r["bytes_per_connection"].get<double>(),
                r["rss_bytes_per_connection"].get<double>());
    return;
  }
  if (c.mode == mode::handshake)
    std::printf("  handshakes/s  %.0f\n", r["handshakes_per_sec"].get<double>());
  else
    std::printf(
        "  messages/s    %.0f\n  MB/s          %.1f\n  latency       p50 %.0f us  p99 "
        "%.0f us  p99.9 %.0f us\n",
        r["messages_per_sec"].get<double>(), r["mb_per_sec"].get<double>(),
        r["latency_us"]["p50"].get<double>(), r["latency_us"]["p99"].get<double>(),
        r["latency_us"]["p99.9"].get<double>());
  if (r.contains("server_cpu_seconds"))
    std::printf("  server CPU    %.2f s (%.0f per CPU-second)\n",
                r["server_cpu_seconds"].get<double>(), r.value("per_server_cpu_second", 0.0));
  std::printf("  errors        %llu\n", r["errors"].get<unsigned long long>());
}

void add_chat_options(CLI::App& app, chat_config& c) {
  app.add_option("--url", c.urls, "chat: a node's ws://host:port/ws (repeat for several nodes)");
  app.add_option("--users", c.users, "chat: guests, each in one room")->capture_default_str();
  app.add_option("--rooms", c.rooms, "chat: rooms")->capture_default_str();
  app.add_option("--mix", c.mix, "chat: room sizes, zipf (a few big, many small) or even")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, room_mix>{{"zipf", room_mix::zipf}, {"even", room_mix::even}}))
      ->capture_default_str();
  app.add_option("--placement", c.placement,
                 "chat: room (each room's members on node room % nodes) or user (round robin)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, placement>{{"room", placement::room}, {"user", placement::user}}))
      ->capture_default_str();
  app.add_option("--rate", c.rate, "chat: messages per second, all users together")
      ->check(CLI::Range(0.1, 1e6))
      ->capture_default_str();
  app.add_option("--text-size", c.size, "chat: bytes of each message's text")
      ->check(CLI::Range(24, 4096))
      ->capture_default_str();
  app.add_option("--drain", c.drain, "chat: at most this long for the window's messages to arrive")
      ->capture_default_str();
  app.add_flag("--mark-window", c.mark_window,
               "chat: \"window start\" and \"window end\" on stderr as they pass");
  app.add_option("--prefix", c.prefix, "chat: of nicknames, rooms and cids (default: random)")
      ->check([](const std::string& p) {
        const bool ok = !p.empty() && p.size() <= 12 &&
                        p.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") == p.npos;
        return ok ? std::string() : std::string("1 to 12 of a-z 0-9");
      });
}

int run_chat_mode(options& o) {
  o.chat.warmup = o.warmup;
  o.chat.duration = o.duration;
  o.chat.quiet = o.quiet;
  if (o.chat.prefix.empty()) {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "b%06x", rd() & 0xFFFFFFu);
    o.chat.prefix = buf;
  }
  nlohmann::json r = run_chat(o.chat);
  r["label"] = o.label;
  if (o.json) return std::printf("%s\n", r.dump().c_str()), 0;
  std::printf("%s%schat: %u users in %u rooms on %zu node(s), %.0f messages/s sent\n",
              o.label.c_str(), o.label.empty() ? "" : " ", o.chat.users, o.chat.rooms,
              o.chat.urls.size(), r["sent_per_sec"].get<double>());
  std::printf(
      "  delivered/s   %.0f (%llu of %llu expected)\n  latency       p50 %.2f ms  p99 "
      "%.2f ms  p99.9 %.2f ms\n  errors        %s\n",
      r["delivered_per_sec"].get<double>(), r["delivered_window"].get<unsigned long long>(),
      r["expected_window"].get<unsigned long long>(), r["latency_ms"]["p50"].get<double>(),
      r["latency_ms"]["p99"].get<double>(), r["latency_ms"]["p99.9"].get<double>(),
      r["errors"].dump().c_str());
  for (const auto& n : r["per_node"])
    std::printf("  %s  %u users, %u rooms, %llu messages in its rooms\n",
                n["url"].get<std::string>().c_str(), n["users"].get<unsigned>(),
                n["rooms"].get<unsigned>(), n["room_messages"].get<unsigned long long>());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duplex-bench: measures a WebSocket server (echo, fanout, handshake, idle, large)"};
  options o;
  const std::map<std::string, mode> modes{{"echo", mode::echo},           {"fanout", mode::fanout},
                                          {"handshake", mode::handshake}, {"idle", mode::idle},
                                          {"large", mode::large},         {"chat", mode::chat}};
  app.add_option("mode", o.cfg.mode, "echo | fanout | handshake | idle | large | chat")
      ->required()
      ->transform(CLI::CheckedTransformer(modes));
  app.add_option("--host", o.cfg.host)->capture_default_str();
  app.add_option("--port,-p", o.cfg.port)->capture_default_str();
  app.add_option("--path", o.cfg.path, "request target of the upgrade")->capture_default_str();
  auto* conns = app.add_option("--connections,-c", o.cfg.connections,
                               "sockets (fanout: subscribers; handshake: in parallel)")
                    ->capture_default_str();
  app.add_option("--in-flight,-k", o.cfg.in_flight, "messages outstanding per sender")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  auto* size = app.add_option("--size,-s", o.cfg.size, "payload bytes")->capture_default_str();
  app.add_flag("--binary", o.cfg.binary, "binary messages (text by default)");
  auto* raw =
      app.add_flag("--raw", o.cfg.raw, "no upgrade; accept masked frames back (a raw TCP echo)");
  app.add_flag("--tls", o.cfg.tls, "wss: TLS on every socket (the certificate is not verified)")
      ->excludes(raw);
  app.add_option("--threads,-t", o.cfg.threads, "load threads")->capture_default_str();
  app.add_option("--extensions", o.cfg.extensions,
                 "Sec-WebSocket-Extensions to offer, e.g. permessage-deflate (frames counted, "
                 "not inflated)");
  app.add_flag("--warm", o.cfg.warm,
               "idle: each socket exchanges one message first (a compressor's state is made)");
  app.add_option("--warmup", o.warmup, "seconds before measuring")->capture_default_str();
  app.add_option("--duration,-d", o.duration, "seconds measured")->capture_default_str();
  app.add_option("--hold", o.hold, "idle: seconds to hold before reading memory")
      ->capture_default_str();
  app.add_option("--pid", o.pid, "the server's pid: its CPU time and memory are reported");
  app.add_option("--label", o.label, "a name printed with the result");
  app.add_flag("--json", o.json, "one JSON object on stdout");
  app.add_flag("--quiet,-q", o.quiet, "no live progress on stderr");
  add_chat_options(app, o.chat);
  CLI11_PARSE(app, argc, argv);
  if (o.cfg.mode == mode::large) {
    if (!size->count()) o.cfg.size = 1 << 20;
    if (!conns->count()) o.cfg.connections = 1;
    o.cfg.binary = true;
  }
  raise_fd_limit();
  try {
    if (o.cfg.mode == mode::chat) return run_chat_mode(o);
    nlohmann::json r = o.cfg.mode == mode::idle ? measure_idle(o) : measure(o);
    if (o.json) {
      for (const auto& [name, m] : modes)
        if (m == o.cfg.mode) r["mode"] = name;
      r["label"] = o.label;
      r["connections"] = o.cfg.connections;
      r["in_flight"] = o.cfg.in_flight;
      r["size"] = o.cfg.size;
      std::printf("%s\n", r.dump().c_str());
    } else {
      print_text(o, r);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
