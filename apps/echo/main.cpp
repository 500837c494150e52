// duplex-echo: echoes every message on "/", broadcasts every message on "/broadcast", and serves
// a small page at GET / whose script talks to the echo.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "duplex/server/server.hpp"
#include "echo_page.hpp"

int main(int argc, char** argv) {
  CLI::App app{"duplex-echo: a WebSocket echo server"};
  duplex::server_options opts;
  opts.port = 8030;
  std::size_t max_message = opts.ws_limits.max_message_bytes;
  unsigned idle_seconds = 120;
  bool no_deflate = false;
  app.add_option("--host", opts.host, "address to listen on")->capture_default_str();
  app.add_option("--port", opts.port, "port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("--threads", opts.threads, "event loops, one per core")->capture_default_str();
  app.add_option("--max-message", max_message, "largest message in bytes")->capture_default_str();
  app.add_option("--idle-timeout", idle_seconds, "seconds of silence before a ping (0: never)")
      ->capture_default_str();
  app.add_flag("--no-deflate", no_deflate, "refuse permessage-deflate (on by default)");
  app.add_flag("--shared-compressor", opts.deflate.shared_compressor,
               "agree server_no_context_takeover with every client: broadcasts are compressed "
               "once per window, not once per subscriber");
  unsigned compressor_kib = 256;
  app.add_option("--compressor-kib", compressor_kib,
                 "memory of a compressor that keeps context: 4, 8, 16, 32, 64, 128 or 256")
      ->check(CLI::IsMember({4u, 8u, 16u, 32u, 64u, 128u, 256u}))
      ->capture_default_str();
  app.add_option("--cert", opts.tls.cert_file, "PEM certificate chain: serve wss:// and https://");
  app.add_option("--key", opts.tls.key_file, "PEM private key for --cert");
  std::string io = "auto";
  app.add_option("--io", io, "I/O backend: auto (DUPLEX_IO, else epoll), epoll or uring")
      ->check(CLI::IsMember({"auto", "epoll", "uring"}))
      ->capture_default_str();
  app.add_flag("--batch-sends", opts.batch_sends,
               "with epoll, send each iteration's replies in one io_uring_enter");
  CLI11_PARSE(app, argc, argv);
  duplex::net::parse_io_backend(io, opts.io);
  opts.deflate.enabled = !no_deflate;
  for (unsigned kib = 4, tier = 0; kib <= 256; kib *= 2, ++tier)
    if (kib == compressor_kib)
      opts.deflate.memory = static_cast<duplex::ws::compressor_memory>(tier);
  opts.ws_limits.max_message_bytes = max_message;
  opts.idle_timeout = std::chrono::seconds(idle_seconds);

  if (opts.tls.cert_file.empty() != opts.tls.key_file.empty()) {
    std::fprintf(stderr, "duplex-echo: --cert and --key go together\n");
    return 2;
  }
  std::unique_ptr<duplex::server> owned;
  try {
    owned = std::make_unique<duplex::server>(opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-echo: %s\n", e.what());
    return 1;
  }
  duplex::server& server = *owned;
  duplex::ws_behavior echo;
  echo.on_message = [](duplex::websocket& ws, std::string_view data, duplex::ws::opcode op) {
    ws.send(data, op);
  };
  server.ws("/", std::move(echo));

  duplex::ws_behavior broadcast;
  broadcast.on_open = [](duplex::websocket& ws) { ws.subscribe("broadcast"); };
  broadcast.on_message = [&server](duplex::websocket&, std::string_view data,
                                   duplex::ws::opcode op) {
    server.publish("broadcast", data, op);
  };
  server.ws("/broadcast", std::move(broadcast));
  server.http("/", [](const duplex::http::request&, duplex::http_response& res) {
    res.body(std::string(echo_page), "text/html; charset=utf-8");
  });
  try {
    server.listen();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duplex-echo: %s\n", e.what());
    return 1;
  }
  const char* s = opts.tls.cert_file.empty() ? "" : "s";
  std::printf("duplex-echo listening on ws%s://%s:%u/ (page at http%s://%s:%u/)\n", s,
              opts.host.c_str(), server.port(), s, opts.host.c_str(), server.port());
  std::fflush(stdout);
  server.run();
  std::printf("duplex-echo stopped\n");
  return 0;
}
