// duplex-chat: the chat room in one binary. HTTP serves the page, /healthz and /metrics;
// the WebSocket at /ws speaks the JSON protocol of docs/chat-protocol.md.
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <climits>
#include <cstdio>
#include <map>

#include "duplex/server/server.hpp"
#include "src/hub.hpp"
#include "src/redis_store.hpp"
#include "src/sqlite_store.hpp"
#include "src/static_files.hpp"

namespace {

using namespace duplex;

struct settings {
  server_options server;
  std::string db = "./duplex-chat.db";
  std::string redis;         // redis://host:port: history and fan-out shared with other nodes
  double presence_ttl = 15;  // seconds a dead node's members stay listed, at most
  std::string web_root;
  std::vector<std::string> origins;
};

std::string exe_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

// The WebSocket as the hub sees it; lives in the socket's user data.
struct ws_session final : chat::session {
  explicit ws_session(websocket& w) : ws(w) {}
  bool send(std::string_view json, bool droppable) override {
    // Typing indicators are the first thing a slow reader goes without.
    if (droppable && ws.buffered_amount() > 64 * 1024) return false;
    return static_cast<bool>(ws.send(json));
  }
  void close(std::uint16_t code, std::string_view reason) override {
    std::fprintf(stderr, "duplex-chat: closing %s with %u: %.*s\n", ws.remote_address().c_str(),
                 code, static_cast<int>(reason.size()), reason.data());
    ws.close(code, reason);
  }
  websocket& ws;
  std::uint64_t id = 0;
};

// Browsers always send Origin; a page from another site must not drive a user's session.
// Without an allow-list, only the server's own origin (http or https, same Host) is accepted.
int check_origin(const http::request& req, const std::vector<std::string>& allowed) {
  const auto origin = req.find("Origin");
  if (!origin) return 0;
  if (!allowed.empty())
    return std::find(allowed.begin(), allowed.end(), *origin) != allowed.end() ? 0 : 403;
  const std::string host(req.find("Host").value_or(""));
  return *origin == "http://" + host || *origin == "https://" + host ? 0 : 403;
}

std::string metrics_text(const chat::hub& hub, const server& srv,
                         const std::map<std::uint16_t, std::uint64_t>& closes) {
  const auto& c = hub.counters();
  std::string out;
  auto metric = [&](const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " +
           (std::string(name).ends_with("_total") ? "counter" : "gauge") + "\n" + name + " " +
           std::to_string(v) + "\n";
  };
  metric("duplex_chat_connections", "Open connections (HTTP and WebSocket).",
         srv.connection_count());
  metric("duplex_chat_clients", "Chat clients attached to the hub.", hub.clients());
  metric("duplex_chat_messages_in_total", "Protocol messages received.", c.messages_in);
  metric("duplex_chat_messages_out_total", "Protocol messages sent.", c.messages_out);
  metric("duplex_chat_bytes_in_total", "Bytes of protocol messages received.", c.bytes_in);
  metric("duplex_chat_bytes_out_total", "Bytes of protocol messages sent.", c.bytes_out);
  metric("duplex_chat_dropped_total", "Messages dropped for slow readers.", c.dropped);
  metric("duplex_chat_rate_limited_total", "Requests refused by the rate limit.", c.rate_limited);
  metric("duplex_chat_errors_total", "Error replies sent.", c.errors);
  out +=
      "# HELP duplex_chat_closes_total WebSocket closes by code.\n# TYPE duplex_chat_closes_total "
      "counter\n";
  for (auto [code, n] : closes)
    out += "duplex_chat_closes_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) +
           "\n";
  return out;
}

void add_routes(server& srv, chat::hub& hub, const chat::static_files& files, const settings& cfg,
                std::map<std::uint16_t, std::uint64_t>& closes) {
  ws_behavior b;
  b.on_upgrade = [&cfg](upgrade_context& up) { return check_origin(up.request, cfg.origins); };
  b.on_open = [&hub](websocket& ws) {
    auto& s = ws.emplace_data<ws_session>(ws);
    s.id = hub.attach(s);
  };
  b.on_message = [&hub](websocket& ws, std::string_view data, ws::opcode op) {
    if (op != ws::opcode::text) {
      ws.send(R"({"type":"error","code":"text_only","message":"send JSON as text"})");
      return;
    }
    // One connection's failure must not unwind through the event loop and end every other.
    try {
      hub.receive(ws.data<ws_session>()->id, data);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "duplex-chat: internal error for %s: %s\n", ws.remote_address().c_str(),
                   e.what());
      ws.close(1011, "internal error");
    }
  };
  b.on_close = [&hub, &closes](websocket& ws, std::uint16_t code, std::string_view) {
    ++closes[code];
    if (auto* s = ws.data<ws_session>()) hub.detach(s->id);
  };
  srv.ws("/ws", std::move(b));
  srv.http("/healthz", [](const http::request&, http_response& res) { res.body("ok\n"); });
  srv.http("/metrics", [&](const http::request&, http_response& res) {
    res.body(metrics_text(hub, srv, closes), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.fallback([&files](const http::request& req, http_response& res) { files.serve(req, res); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duplex-chat: a chat room server"};
  settings cfg;
  cfg.server.port = 8080;
  cfg.web_root = exe_dir() + "/web";
  app.add_option("--host", cfg.server.host, "address to listen on")->capture_default_str();
  app.add_option("--port", cfg.server.port, "port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("--db", cfg.db, "SQLite file for history")->capture_default_str();
  app.add_option("--redis", cfg.redis,
                 "redis://HOST:PORT: share rooms with other nodes through Redis instead of --db");
  app.add_option("--presence-ttl", cfg.presence_ttl,
                 "with --redis: seconds after which a dead node's members leave the lists")
      ->check(CLI::Range(0.3, 3600.0))
      ->capture_default_str();
  app.add_option("--origin", cfg.origins, "allowed page origin (repeatable; default: same origin)");
  app.add_option("--web-root", cfg.web_root, "directory of the page")->capture_default_str();
  app.add_option("--cert", cfg.server.tls.cert_file,
                 "PEM certificate chain: serve https:// and wss://");
  app.add_option("--key", cfg.server.tls.key_file, "PEM private key for --cert");
  CLI11_PARSE(app, argc, argv);
  // One JSON message carries at most 4 KiB of text: frames far larger are refused with 1009.
  cfg.server.ws_limits.max_message_bytes = 16 * 1024;
  cfg.server.max_backpressure = 1024 * 1024;
  cfg.server.idle_timeout = std::chrono::seconds(60);
  cfg.server.threads = 1;  // the hub lives on one loop; more nodes scale out (docs/operations.md)
  try {
    duplex::server srv(cfg.server);
    srv.listen();
    std::unique_ptr<chat::sqlite_store> sqlite;
    std::unique_ptr<chat::redis_store> redis;
    chat::store* store = nullptr;
    if (cfg.redis.empty()) {
      sqlite = std::make_unique<chat::sqlite_store>(
          cfg.db, [&srv](std::function<void()> fn) { srv.post(0, std::move(fn)); });
      store = sqlite.get();
    } else {
      // Driven by the hub's own loop: registered now, before run(), then only from that loop.
      const auto ttl = std::chrono::milliseconds(static_cast<long>(cfg.presence_ttl * 1000));
      redis = std::make_unique<chat::redis_store>(srv.loop(0), chat::parse_redis_url(cfg.redis),
                                                  10'000, ttl);
      redis->start();
      store = redis.get();
    }
    chat::hub hub(*store);
    chat::static_files files(cfg.web_root);
    std::map<std::uint16_t, std::uint64_t> closes;
    add_routes(srv, hub, files, cfg, closes);
    std::printf("duplex-chat listening on http%s://%s:%u/ (history in %s)\n",
                cfg.server.tls.cert_file.empty() ? "" : "s", cfg.server.host.c_str(), srv.port(),
                cfg.redis.empty() ? cfg.db.c_str() : cfg.redis.c_str());
    std::fflush(stdout);
    srv.run();
    if (sqlite) sqlite->flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: %s\n", e.what());
    return 1;
  }
  std::printf("duplex-chat stopped\n");
  return 0;
}
