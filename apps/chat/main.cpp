// duplex-chat: the chat room in one binary. HTTP serves the page, /healthz and /metrics;
// the WebSocket at /ws speaks the JSON protocol of docs/chat-protocol.md.
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <unordered_set>

#include "duplex/server/http_exchange.hpp"
#include "duplex/server/server.hpp"
#include "src/account_api.hpp"
#include "src/account_replies.hpp"
#include "src/account_service.hpp"
#include "src/accounts.hpp"
#include "src/address_ranges.hpp"
#include "src/chat_limits.hpp"
#include "src/directory_follow.hpp"
#include "src/file_routes.hpp"
#include "src/host_policy.hpp"
#include "src/hub.hpp"
#include "src/metered_store.hpp"
#include "src/metrics.hpp"
#include "src/names.hpp"
#include "src/node_metrics.hpp"
#include "src/pg_accounts.hpp"
#include "src/pg_directory.hpp"
#include "src/pg_file_routes.hpp"
#include "src/pg_retention.hpp"
#include "src/pg_schema.hpp"
#include "src/pg_search.hpp"
#include "src/pg_store.hpp"
#include "src/redis_store.hpp"
#include "src/schema.hpp"
#include "src/sqlite_directory.hpp"
#include "src/sqlite_search.hpp"
#include "src/sqlite_store.hpp"
#include "src/static_files.hpp"
#include "src/user_cli.hpp"
#include "src/web_accounts.hpp"

namespace {

using namespace duplex;

struct settings {
  server_options server;
  std::string db = "./duplex-chat.db";
  std::string redis;         // redis://host:port: history and fan-out shared with other nodes
  std::string pg;            // postgresql://...: with --redis, ids and history there instead
  double presence_ttl = 15;  // seconds a dead node's members stay listed, at most
  int keep_days = 0;         // --pg: history older than this goes (0: kept for ever)
  std::string web_root;
  std::vector<std::string> origins;
  std::vector<std::string> allowed_hosts;  // Host names answered besides IP literals and localhost
  std::vector<std::string> public_urls;
  bool guests = false;               // connections without a session may chat under a free name
  bool closed_registration = false;  // accounts are made with `duplex-chat user add` only
  std::string files_dir;             // uploads; empty: "duplex-chat-files" beside the --db file
  std::size_t max_upload_bytes = 10 * 1024 * 1024;
  chat::address_ranges metrics_from;         // who may read /metrics; empty: loopback only
  std::vector<std::string> trusted_proxies;  // whose X-Forwarded-For / Forwarded names the client
};

// Uploads live beside the database, never under the web root.
std::string files_dir_of(const settings& cfg) {
  if (!cfg.files_dir.empty()) return cfg.files_dir;
  const auto slash = cfg.db.rfind('/');
  return (slash == std::string::npos ? std::string(".") : cfg.db.substr(0, slash)) +
         "/duplex-chat-files";
}

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
  void close(ws::close_code code, std::string_view reason) override {
    std::fprintf(stderr, "duplex-chat: closing %s with %u: %.*s\n", ws.remote_address().c_str(),
                 ws::to_int(code), static_cast<int>(reason.size()), reason.data());
    ws.close(code, reason);
  }
  void subscribe(std::string_view topic) override { ws.subscribe(topic); }
  void unsubscribe(std::string_view topic) override { ws.unsubscribe(topic); }
  websocket& ws;
  std::uint64_t id = 0;
  // Set by the upgrade from the session cookie; 0 and empty for a guest.
  std::int64_t user_id = 0;
  std::int64_t session_id = 0;
  std::string user_name;
  std::string user_key;  // the account's sign-in key: who the hub says the user is
};

// A room's messages through the server's topics: framed once for all its members. The hub
// runs on loop 0 with the sockets, so a publish is queued to them before it returns, in order
// with each socket's own sends.
struct topic_publisher final : chat::publisher {
  explicit topic_publisher(server& s) : srv(s) {}
  void publish(std::string_view topic, std::string_view json) override { srv.publish(topic, json); }
  server& srv;
};

// Every request but /healthz (which load balancers ask by any name) must name this server.
// Until `ready` (with --pg: PostgreSQL connected once), every request, /healthz included, is
// answered 503, so that a client that comes during the start is told to come back, not shown
// a store error, and a load balancer sends nobody yet. Redis shards are not waited for: one
// that is down pauses its own rooms (store_failed), as it would later.
server_options::filter_fn host_filter(std::shared_ptr<const chat::host_policy> policy,
                                      std::shared_ptr<const bool> ready) {
  return [policy, ready](const http::request& req) -> refusal {
    if (req.path() == "/healthz")
      return *ready ? refusal{} : refusal{503, "starting: the node's connections are not ready"};
    if (!policy->allows(req.authority()))
      return {403, "this chat does not answer to the host name '" + std::string(req.authority()) +
                       "'; start it with --allowed-host NAME or --public-url URL to allow it"};
    if (!*ready) return {503, "starting: the node's connections are not ready yet; retry"};
    return {};
  };
}

// Checks every 50 ms until `up` holds, then runs `then` (on loop 0, as the filter).
void open_when(server& srv, std::function<bool()> up, std::function<void()> then) {
  if (up()) return then();
  srv.after(std::chrono::milliseconds(50),
            [&srv, up = std::move(up), then = std::move(then)] { open_when(srv, up, then); });
}

// The links of whichever backend the node runs on: with --pg, PostgreSQL and the bus; with
// --redis alone, Redis; none for SQLite.
void add_link_metrics(chat::metrics::registry& m, const chat::pg_store* pg,
                      const chat::redis_store* redis) {
  if (pg != nullptr) {
    redis = &pg->bus();
    chat::add_link_metrics(
        m, "postgresql",
        {[pg] { return pg->db().connected(); }, [pg] { return pg->db().reconnects(); }});
  }
  if (redis == nullptr) return;
  chat::add_link_metrics(
      m, "redis",
      {[redis] { return redis->connected(); }, [redis] { return redis->reconnects(); }});
  // Per shard: a node's bytes from the bus follow its own rooms, not the cluster's traffic.
  const auto shards = redis->traffic();
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const chat::metrics::labels l{{"shard", shards[i].shard}};
    auto read = [redis, i](auto field) {
      return [redis, i, field] { return static_cast<double>(redis->traffic()[i].*field); };
    };
    m.gauge_fn("duplex_chat_redis_shard_up", "1 while both connections to the shard are up.",
               read(&chat::shard_traffic::connected), l);
    m.gauge_fn("duplex_chat_redis_shard_channels", "Channels this node subscribes on the shard.",
               read(&chat::shard_traffic::channels), l);
    m.counter_fn("duplex_chat_redis_shard_messages_in_total",
                 "Messages this node received from the shard's channels.",
                 read(&chat::shard_traffic::messages_received), l);
    m.counter_fn("duplex_chat_redis_shard_bytes_in_total",
                 "Bytes (channel names and payloads) this node received from the shard.",
                 read(&chat::shard_traffic::bytes_received), l);
  }
}

// The stored look-alike keys follow the names module's rules of this version and this ICU, so
// that a name registered before a rule existed is compared under it like every other: in the
// --db file, and in PostgreSQL's accounts with --pg.
bool refresh_look_alike_keys(const std::string& db_path, const std::string& pg) {
  try {
    std::vector<std::string> kept;
    if (!db_path.empty()) {
      chat::sql::connection db(db_path, std::chrono::seconds(5));
      chat::configure(db);
      chat::migrate(db);
      kept = chat::account_store(db).refresh_skeletons(chat::names::skeleton);
    }
    if (!pg.empty()) {
      auto shared = chat::pg_accounts(pg, {})(chat::account_db_use::command)
                        ->refresh_skeletons(chat::names::skeleton);
      kept.insert(kept.end(), shared.begin(), shared.end());
    }
    for (const auto& name : kept)
      std::fprintf(stderr,
                   "duplex-chat: \"%s\" now looks like another user's name; it keeps its own\n",
                   name.c_str());
    return true;
  } catch (const std::exception& e) {
    const std::string where = pg.empty()        ? db_path
                              : db_path.empty() ? std::string("PostgreSQL")
                                                : db_path + " and PostgreSQL";
    std::fprintf(stderr, "duplex-chat: cannot open the accounts (%s): %s\n", where.c_str(),
                 e.what());
    return false;
  }
}

// Sign-in names follow the RFC 8265 username profile, display names the RFC 8266 nickname
// profile (the one the hub applies to every name it shows); each gives a key and a look-alike key.
using profile_fn = chat::names::checked (*)(std::string_view, const chat::names::limits&);
chat::name_rules name_rules_of(profile_fn profile) {
  return
      [profile](std::string_view typed, std::string& problem) -> std::optional<chat::name_claim> {
        auto checked = profile(typed, {});
        if (!checked) {
          problem = chat::names::message(checked.why);
          return std::nullopt;
        }
        return chat::name_claim{std::move(checked.display), std::move(checked.key),
                                std::move(checked.skeleton)};
      };
}

struct accounts {
  chat::account_service& service;
  chat::account_api& api;
  chat::session_sockets& sockets;
};

// /api/: the accounts' endpoints, and /api/config, what the page needs to know before any.
void serve_api(accounts& acc, const settings& cfg, const http::request& req, std::string body,
               std::string peer, std::function<void(const chat::api_response&)> respond) {
  if (chat::changes_state(req.method) && chat::check_origin(req, cfg.origins) != 0)
    return respond(
        chat::replies::error(403, "cross_origin", "this request must come from the chat's page"));
  if (req.path() == "/api/config") {
    if (req.method != "GET")
      return respond(chat::replies::error(405, "method_not_allowed", "use GET"));
    return respond(chat::replies::json_reply(
        200,
        {{"guests", cfg.guests},
         {"registration", !cfg.closed_registration},
         {"max_upload_bytes", cfg.redis.empty() || !cfg.pg.empty() ? cfg.max_upload_bytes : 0}}));
  }
  // The views in `api_request` point into these, which the completion keeps alive.
  auto keep =
      std::make_shared<std::pair<std::string, std::string>>(std::move(body), std::move(peer));
  acc.api.handle(chat::api_request_of(req, keep->first, keep->second),
                 [keep, respond = std::move(respond)](chat::api_response r) { respond(r); });
}

// Every path under /api/, any method, its body gathered first (an account request is a name and
// two passwords: 8 KiB is plenty, and past it the server answers 413 and closes).
void add_api_route(server& srv, accounts& acc, const settings& cfg) {
  body_options options;
  options.max_bytes = 8 * 1024;
  options.prefix = true;
  srv.http_body(
      "/api/",
      [&acc, &cfg](http_exchange ex, std::string body) {
        serve_api(acc, cfg, ex.request(), std::move(body), std::string(ex.peer()),
                  [ex](const chat::api_response& r) mutable {
                    http_response res;
                    chat::fill(res, r);
                    ex.respond(std::move(res));
                  });
      },
      options);
}

// The hub's check of a `file` in a say or dm: the signed-in user's own upload for that feed,
// as the attachment JSON the message carries, or nothing; `claim` is the store's.
template <typename Claim>
chat::hub::attachment_check attachments_of(Claim claim) {
  return [claim](const std::string& user, const std::string& feed,
                 const std::string& id) -> std::optional<std::string> {
    if (!chat::valid_upload_id(id)) return std::nullopt;
    try {
      auto rec = claim(id, user, feed);
      if (!rec) return std::nullopt;
      return chat::attachment_json(*rec);
    } catch (const std::exception& e) {  // locked or unreachable: this message is refused, no more
      std::fprintf(stderr, "duplex-chat: reading an upload: %s\n", e.what());
      return std::nullopt;
    }
  };
}

// Files: uploads and downloads (src/file_routes.hpp), on disk beside --db; with --pg, in
// PostgreSQL (`pg_files`, src/pg_file_routes.hpp), shared by every node; with --redis alone,
// refused with the reason, since each node would keep its own.
void add_files(server& srv, chat::hub& hub, chat::upload_store& uploads,
               chat::pg_file_store* pg_files, accounts& acc, chat::room_directory& rooms,
               const settings& cfg) {
  chat::file_settings fs;
  fs.dir = files_dir_of(cfg);
  fs.max_bytes = cfg.max_upload_bytes;
  chat::file_access access{
      [&acc](std::string_view cookie) { return acc.api.session_of(cookie); }, cfg.origins, &rooms,
      [&acc](std::string_view shown) { return acc.service.key_of_shown(chat::names::key(shown)); }};
  if (pg_files != nullptr) {
    hub.set_attachments(attachments_of([pg_files](auto&&... a) { return pg_files->claim(a...); }));
    return chat::add_pg_file_routes(srv, *pg_files, fs, std::move(access));
  }
  if (!cfg.redis.empty())
    fs.unavailable =
        "files need a single node or --pg: with --redis alone, each node would keep "
        "its own";
  else
    hub.set_attachments(attachments_of([&uploads](auto&&... a) { return uploads.claim(a...); }));
  chat::prepare_files_dir(fs.dir);
  chat::add_file_routes(srv, uploads, fs, std::move(access));
}

void add_routes(server& srv, chat::hub& hub, accounts& acc, const chat::static_files& files,
                const settings& cfg, chat::metrics::registry& metrics) {
  ws_behavior b;
  // The socket is bound to the session's user for its life; without a session, a guest if the
  // operator allows guests, otherwise 401 (the page signs in first).
  b.on_upgrade = [&cfg, &acc](upgrade_context& up) {
    if (const int refused = chat::check_origin(up.request, cfg.origins)) return refused;
    const auto found = acc.api.session_of(up.request.find("Cookie").value_or(""));
    if (found.failed) return 503;
    auto& s = up.socket.emplace_data<ws_session>(up.socket);
    if (found.session) {
      s.user_id = found.session->who.id;
      s.session_id = found.session->session.id;
      s.user_name = found.session->who.shown();
      s.user_key = found.session->who.key;
      return 0;
    }
    return cfg.guests ? 0 : 401;
  };
  b.on_open = [&hub, &acc](websocket& ws) {
    auto& s = *ws.data<ws_session>();
    s.id = hub.attach(s, s.user_name, s.user_key);
    if (s.session_id != 0) acc.sockets.add(s.user_id, s.session_id, s);
  };
  // An exception here is the library's to catch: it logs it, counts it in
  // duplex_chat_exceptions_total and closes this connection with 1011, and no other.
  b.on_message = [&hub](websocket& ws, std::string_view data, ws::opcode op) {
    const auto id = ws.data<ws_session>()->id;
    if (op != ws::opcode::text) return hub.receive_binary(id);
    hub.receive(id, data);
  };
  b.on_close = [&hub, &acc, &metrics](websocket& ws, ws::close_code c, std::string_view) {
    chat::count_close(metrics, ws::to_int(c));
    if (auto* s = ws.data<ws_session>()) {
      hub.detach(s->id);
      if (s->session_id != 0) acc.sockets.remove(s->user_id, s->session_id, *s);
    }
  };
  srv.ws("/ws", std::move(b));
  srv.http("/healthz", [](const http::request&, http_response& res) { res.body("ok\n"); });
  // For the operator's scraper only: anyone else is told there is no such page.
  srv.http("/metrics", [&cfg, &metrics](const http::request& req, http_response& res) {
    // Forwarded by a proxy this node was not told to trust (nginx on the same host, say): the
    // peer's address is the proxy's, not the client's, so it says nothing.
    const bool unknown_proxy =
        cfg.trusted_proxies.empty() && (req.find("x-forwarded-for") || req.find("forwarded"));
    if (unknown_proxy || !cfg.metrics_from.contains(res.peer())) {
      res.status(404).body("not found\n");
      return;
    }
    res.body(metrics.text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  add_api_route(srv, acc, cfg);
  srv.fallback([&files](const http::request& req, http_response& res) { files.serve(req, res); });
}

// --pg: what is past its feed's horizon leaves now and then. Every node tries; PostgreSQL's
// advisory lock lets one prune at a time (pg_retention.hpp).
std::unique_ptr<chat::pg_retention> start_retention(server& srv, const settings& cfg) {
  auto r =
      std::make_unique<chat::pg_retention>(srv.loop(0), chat::pg_options{cfg.pg}, cfg.keep_days);
  r->start();
  srv.every(std::chrono::minutes(10), [r = r.get()] {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    r->prune(now.count(), [](bool ok, std::int64_t removed) {
      if (!ok) std::fprintf(stderr, "duplex-chat: pruning old history failed; next pass later\n");
      if (removed > 0)
        std::fprintf(stderr, "duplex-chat: %lld old messages pruned\n",
                     static_cast<long long>(removed));
    });
  });
  return r;
}

}  // namespace

// --pg: the sessions here follow what other nodes change in the room directory (a ban, an
// expulsion, a mute, a role), read from PostgreSQL's notifications twice a second. A change
// that could not be followed, or a connection that is new, has every room here checked.
void follow_directory(server& srv, chat::pg_directory& dir, chat::hub& hub) {
  // Changes are read often and followed under a budget of the loop's time (a full re-check
  // after a reconnection may mean many reads; see directory_follow.hpp).
  auto follow = std::make_shared<chat::directory_follow>();
  srv.every(std::chrono::milliseconds(100), [&dir, &hub, follow] {
    chat::pg_directory::changes_t ch;
    try {
      ch = dir.changes();
    } catch (const chat::pg_error&) {
      return;  // unreachable: no change can be made meanwhile; the reconnection is incomplete
    }
    std::vector<chat::directory_follow::key> list;
    list.reserve(ch.list.size());
    for (auto& c : ch.list)
      list.emplace_back(std::move(c.room), std::move(c.user));
    follow->changed(list, ch.complete, [&hub] { return hub.directory_holds(); });
    follow->work(hub, std::chrono::milliseconds(20));
  });
}

int main(int argc, char** argv) {
  CLI::App app{"duplex-chat: a chat room server"};
  settings cfg;
  cfg.server.port = 8080;
  cfg.web_root = exe_dir() + "/web";
  app.add_option("--host", cfg.server.host, "address to listen on")->capture_default_str();
  app.add_option("--port", cfg.server.port, "port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("--db", cfg.db, "SQLite file: accounts, rooms, conversations and history")
      ->capture_default_str();
  app.add_option("--redis", cfg.redis,
                 "redis://HOST:PORT[,redis://HOST:PORT...]: share rooms, ids and history with "
                 "other nodes through Redis, rooms spread over the servers listed (the same list "
                 "on every node; accounts stay in --db unless --pg)");
  app.add_option("--pg", cfg.pg,
                 "postgresql://USER@HOST:PORT/DB (or a libpq conninfo): with --redis, keep ids, "
                 "history, accounts and sessions in PostgreSQL, Redis being the bus only "
                 "(`user` commands: the accounts there)");
  app.add_option("--keep-days", cfg.keep_days,
                 "with --pg: delete messages older than this many days, in every feed without a "
                 "keep_days of its own (0: keep them for ever)")
      ->check(CLI::Range(0, 100'000))
      ->needs(app.get_option("--pg"))
      ->capture_default_str();
  app.add_option("--presence-ttl", cfg.presence_ttl,
                 "with --redis: seconds after which a dead node's members leave the lists")
      ->check(CLI::Range(0.3, 3600.0))
      ->capture_default_str();
  app.add_option("--origin", cfg.origins, "allowed page origin (repeatable; default: same origin)");
  app.add_option(
      "--allowed-host", cfg.allowed_hosts,
      "a host name the chat answers to, besides IP addresses and localhost (repeatable)");
  app.add_option("--public-url", cfg.public_urls,
                 "the URL people open, e.g. https://chat.example.com: its host is allowed")
      ->check([](const std::string& url) {
        return chat::host_of_url(url).empty() ? "expected http://HOST[:PORT] or https://..." : "";
      });
  app.add_option("--trusted-proxy", cfg.trusted_proxies,
                 "address or range (CIDR) of a reverse proxy in front of the chat, repeatable: "
                 "its X-Forwarded-For or Forwarded names the client (for --metrics-from, sign-in "
                 "limits, sessions); nobody else's is believed")
      ->check([](const std::string& r) {
        try {
          chat::address_ranges().add(r);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  app.add_option_function<std::vector<std::string>>(
         "--metrics-from",
         [&cfg](const std::vector<std::string>& ranges) {
           for (const auto& r : ranges)
             cfg.metrics_from.add(r);
         },
         "addresses or ranges (CIDR) that may read /metrics, repeatable (default: loopback "
         "only); others get 404")
      ->check([](const std::string& r) {
        try {
          chat::address_ranges().add(r);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  app.add_option("--web-root", cfg.web_root, "directory of the page")->capture_default_str();
  app.add_option("--files-dir", cfg.files_dir,
                 "directory of uploaded files (default: duplex-chat-files beside --db)");
  app.add_option("--max-upload-bytes", cfg.max_upload_bytes,
                 "largest file a user may upload; larger ones are refused with 413")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
      ->capture_default_str();
  app.add_flag("--guests", cfg.guests,
               "let people without an account chat under a free name (marked as guests)");
  app.add_flag("--closed-registration", cfg.closed_registration,
               "no sign-up from the page: accounts are made with `duplex-chat user add`");
  app.add_option("--cert", cfg.server.tls.cert_file,
                 "PEM certificate chain: serve https:// and wss://");
  app.add_option("--key", cfg.server.tls.key_file, "PEM private key for --cert");
  std::string io = "auto";
  app.add_option("--io", io, "I/O backend: auto (DUPLEX_IO, else epoll), epoll or uring")
      ->check(CLI::IsMember({"auto", "epoll", "uring"}))
      ->capture_default_str();
  chat::user_command user_cmd;
  chat::add_user_commands(app, user_cmd);
  // ----- rooms: the limits an operator sets, as flags and in --config (docs/limits.md)
  chat::chat_limits limits;
  chat::add_limit_flags(app, limits);
  // ----- end of rooms
  CLI11_PARSE(app, argc, argv);
  net::parse_io_backend(io, cfg.server.io);
  if (cfg.metrics_from.empty()) cfg.metrics_from = chat::address_ranges::loopback();
  cfg.server.trusted_proxies = cfg.trusted_proxies;
  cfg.server.forwarded_headers = !cfg.trusted_proxies.empty();
  // A broken ICU would refuse every name later, one by one; better to say so now.
  if (!chat::names::ready()) {
    std::fprintf(stderr, "duplex-chat: ICU cannot check names (see docs/names.md)\n");
    return 1;
  }
  if (!cfg.pg.empty() && cfg.redis.empty() && user_cmd.action.empty()) {
    std::fprintf(stderr, "duplex-chat: --pg needs --redis (the bus between the nodes)\n");
    return 1;
  }
  // A `user` command with --pg touches no --db file.
  const bool file_used = user_cmd.action.empty() || cfg.pg.empty();
  if (!refresh_look_alike_keys(file_used ? cfg.db : std::string(), cfg.pg)) return 1;
  if (!user_cmd.action.empty()) {
    // The password comes on standard input, never in argv (which `ps` shows to everyone).
    const chat::cli_context ctx{
        cfg.db,
        name_rules_of(chat::names::username),
        chat::hash_cost::interactive(),
        {},
        &std::cin,
        &std::cout,
        &std::cerr,
        ::isatty(STDIN_FILENO) == 1,
        cfg.pg.empty() ? chat::account_db_opener() : chat::pg_accounts(cfg.pg, {})};
    return chat::run_user_command(user_cmd, ctx);
  }
  // One JSON message carries at most 4 KiB of text: frames far larger are refused with 1009.
  // The frame limit keeps today's ratio (16 KiB for 4096 bytes of text) when the operator raises
  // the text's.
  cfg.server.ws_limits.max_message_bytes =
      std::max<std::size_t>(16 * 1024, limits.hub.max_text_bytes * 4);
  cfg.server.max_backpressure = 1024 * 1024;
  cfg.server.idle_timeout = std::chrono::seconds(60);
  cfg.server.threads = 1;  // the hub lives on one loop; more nodes scale out (docs/operations.md)
  auto names = cfg.allowed_hosts;
  for (const auto& url : cfg.public_urls)
    names.push_back(chat::host_of_url(url));
  auto ready = std::make_shared<bool>(cfg.pg.empty());
  cfg.server.request_filter =
      host_filter(std::make_shared<chat::host_policy>(cfg.server.host, names), ready);
  try {
    // Every node brings the schema up to date before it listens (docs/operations.md).
    if (!cfg.pg.empty()) chat::pg_migrate(cfg.pg);
    duplex::server srv(cfg.server);
    srv.listen();
    std::unique_ptr<chat::sqlite_store> sqlite;
    std::unique_ptr<chat::redis_store> redis;
    std::unique_ptr<chat::pg_store> pg;
    std::unique_ptr<chat::sqlite_search> search;  // one node only: the history is in the file
    std::unique_ptr<chat::pg_search> pg_search;   // --pg: PostgreSQL's full-text search
    std::unique_ptr<chat::pg_retention> retention;
    chat::store* store = nullptr;
    if (!cfg.pg.empty()) {
      const auto ttl = std::chrono::milliseconds(static_cast<long>(cfg.presence_ttl * 1000));
      pg = std::make_unique<chat::pg_store>(srv.loop(0), chat::pg_options{cfg.pg},
                                            chat::parse_redis_urls(cfg.redis), ttl);
      pg->start();
      store = pg.get();
      pg_search = std::make_unique<chat::pg_search>(srv.loop(0), chat::pg_options{cfg.pg});
      pg_search->start();
      retention = start_retention(srv, cfg);
    } else if (cfg.redis.empty()) {
      sqlite = std::make_unique<chat::sqlite_store>(
          cfg.db, [&srv](std::function<void()> fn) { srv.post(0, std::move(fn)); });
      store = sqlite.get();
      search = std::make_unique<chat::sqlite_search>(
          cfg.db, [&srv](std::function<void()> fn) { srv.post(0, std::move(fn)); });
    } else {
      // Driven by the hub's own loop: registered now, before run(), then only from that loop.
      const auto ttl = std::chrono::milliseconds(static_cast<long>(cfg.presence_ttl * 1000));
      redis = std::make_unique<chat::redis_store>(srv.loop(0), chat::parse_redis_urls(cfg.redis),
                                                  10'000, ttl);
      redis->start();
      store = redis.get();
    }
    chat::metrics::registry metrics;
    // Every append is counted and timed on its way to whichever store holds the history.
    chat::metered_store metered(*store, metrics);
    add_link_metrics(metrics, pg.get(), redis.get());
    // Accounts live in the --db file, or with --pg in PostgreSQL, shared by every node: a
    // cookie from one signs in on all, and a name taken on one is taken on all.
    chat::account_config account_cfg;
    account_cfg.db_path = cfg.db;
    account_cfg.signin = limits.signin;  // rooms' limits block: sign-in attempts
    if (!cfg.pg.empty()) account_cfg.open = chat::pg_accounts(cfg.pg, account_cfg.sessions);
    chat::account_service service(account_cfg,
                                  [&srv](std::function<void()> fn) { srv.post(0, std::move(fn)); });
    chat::api_options api_cfg;
    api_cfg.cookie.secure = !cfg.server.tls.cert_file.empty();
    api_cfg.registration_open = !cfg.closed_registration;
    chat::session_sockets sockets;
    api_cfg.sessions_ended = [&sockets, &service](std::int64_t user_id) {
      sockets.sweep(user_id, [&service](std::int64_t id) { return service.session_alive(id); });
    };
    api_cfg.display_names = name_rules_of(chat::names::nickname);
    chat::account_api api(service, name_rules_of(chat::names::username), api_cfg);
    accounts acc{service, api, sockets};
    // `duplex-chat user ban` and `passwd` write the file from another process (with --pg, any
    // node or command ends sessions): the sockets of the sessions they end close within one
    // period, not at their next reconnection.
    // With --pg, a PostgreSQL that fails during the sweep keeps the sockets it could not check
    // (every one, once its breaker is open): its reconnection counts as a change and sweeps again.
    const bool shared_accounts = !cfg.pg.empty();
    srv.every(std::chrono::seconds(2), [&service, &sockets, shared_accounts] {
      // Asked even with no socket: PostgreSQL's notifications are read (and dropped) here.
      const auto changes = service.changes_elsewhere();
      if (!changes.changed || sockets.size() == 0) return;
      if (changes.ended) {  // PostgreSQL named them: no read per open session
        const std::unordered_set<std::int64_t> ended(changes.ended->begin(), changes.ended->end());
        sockets.sweep_all([&ended](std::int64_t id) { return !ended.contains(id); });
        return;
      }
      sockets.sweep_all([&service, shared_accounts](std::int64_t id) {
        return service.session_alive(id, shared_accounts);
      });
    });
    // Expired sessions leave the file now and then; a lookup refuses them meanwhile anyway.
    srv.every(std::chrono::hours(1), [&service] { service.purge_expired(); });
    topic_publisher topics(srv);
    // ----- rooms: the directory is kept in the --db file, like the accounts, or with --pg in
    // PostgreSQL, shared by every node (with --redis alone, each node's own:
    // docs/chat-protocol.md, "Rooms").
    std::unique_ptr<chat::room_directory> directory;
    chat::pg_directory* shared_rooms = nullptr;
    if (!cfg.pg.empty()) {
      auto pg_rooms = std::make_unique<chat::pg_directory>(cfg.pg);
      shared_rooms = pg_rooms.get();
      directory = std::move(pg_rooms);
    } else {
      directory = std::make_unique<chat::sqlite_directory>(cfg.db);
    }
    chat::hub hub(metered, topics, limits.hub, {}, directory.get());
    if (shared_rooms != nullptr) follow_directory(srv, *shared_rooms, hub);
    // ----- end of rooms
    hub.set_search(search ? static_cast<chat::message_search*>(search.get()) : pg_search.get());
    hub.guard_names([&service](const chat::names::result& n) {
      return service.name_registered(n.key, n.skeleton);
    });
    // Private conversations reach registered users, online or not.
    hub.set_directory({[&service](std::string_view key) { return service.shown_name(key); },
                       [&service](std::string_view shown) { return service.key_of_shown(shown); }});
    chat::static_files files(cfg.web_root);
    chat::add_node_metrics(metrics, srv, hub, [&sockets] { return sockets.size(); });
    add_routes(srv, hub, acc, files, cfg, metrics);
    chat::upload_store uploads(cfg.db);
    // --pg: two workers, each with its own connection; declared after the server, so that
    // their last completions still find it.
    std::unique_ptr<chat::pg_file_store> pg_files;
    if (!cfg.pg.empty())
      pg_files = std::make_unique<chat::pg_file_store>(
          cfg.pg, 2, 32, [&srv](std::function<void()> fn) { srv.post(0, std::move(fn)); });
    add_files(srv, hub, uploads, pg_files.get(), acc, *directory, cfg);
    // Said once the node serves: with --pg, once PostgreSQL is first connected (503 until then).
    auto announce = [&srv, &cfg] {
      std::printf("duplex-chat listening on http%s://%s:%u/ (history in %s)\n",
                  cfg.server.tls.cert_file.empty() ? "" : "s", cfg.server.host.c_str(), srv.port(),
                  !cfg.pg.empty()     ? "PostgreSQL, bus in Redis"
                  : cfg.redis.empty() ? cfg.db.c_str()
                                      : cfg.redis.c_str());
      std::fflush(stdout);
    };
    if (pg)
      open_when(
          srv, [p = pg.get()] { return p->db().connected(); },
          [ready, announce] {
            *ready = true;
            announce();
          });
    else
      announce();
    srv.run();
    if (sqlite) sqlite->flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-chat: %s\n", e.what());
    return 1;
  }
  std::printf("duplex-chat stopped\n");
  return 0;
}
