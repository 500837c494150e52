// uWebSockets peer for duplex-bench: echo on any path, fan-out to every client on /broadcast.
// Built by bench/run from the shared uWebSockets source, twice: plain (uSockets without TLS) and,
// with UWS_PEER_TLS, over OpenSSL (then it takes a certificate and key after the port).
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "App.h"

namespace {

#ifdef UWS_PEER_TLS
using peer_app = uWS::SSLApp;
#else
using peer_app = uWS::App;
#endif

struct no_data {};
using behavior = peer_app::WebSocketBehavior<no_data>;
constexpr std::string_view topic = "broadcast";

// The settings every peer shares: compression off, 16 MiB messages, no idle pings (duplex-echo
// runs with --idle-timeout 0), and queues without a bound (maxBackpressure 0: no limit) so that
// a slow reader is buffered for, as the other peers do, not skipped.
behavior common() {
  behavior b;
  b.compression = uWS::DISABLED;
  b.maxPayloadLength = 16 * 1024 * 1024;
  b.idleTimeout = 0;
  b.maxBackpressure = 0;
  b.closeOnBackpressureLimit = false;
  b.sendPingsAutomatically = false;
  return b;
}

behavior echo() {
  behavior b = common();
  b.message = [](auto* ws, std::string_view data, uWS::OpCode op) { ws->send(data, op, false); };
  return b;
}

// The app publishes, not the socket: a socket's own publish leaves the sender out, and every
// peer's fan-out includes it.
behavior fan_out(peer_app& app) {
  behavior b = common();
  b.open = [](auto* ws) { ws->subscribe(topic); };
  b.message = [&app](auto*, std::string_view data, uWS::OpCode op) {
    app.publish(topic, data, op, false);
  };
  return b;
}

uWS::SocketContextOptions tls_options([[maybe_unused]] int argc, [[maybe_unused]] char** argv) {
  uWS::SocketContextOptions o;
#ifdef UWS_PEER_TLS
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PORT CERT KEY\n", argv[0]);
    std::exit(2);
  }
  o.cert_file_name = argv[2];
  o.key_file_name = argv[3];
#endif
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 9000;
  peer_app app(tls_options(argc, argv));
  if (app.constructorFailed()) {
    std::fprintf(stderr, "uws-server: cannot set up the socket context (certificate?)\n");
    return 1;
  }
  app.ws<no_data>("/broadcast", fan_out(app));
  app.ws<no_data>("/*", echo());
  bool listening = false;
  app.listen("127.0.0.1", port, [&](us_listen_socket_t* s) { listening = s != nullptr; });
  if (!listening) {
    std::fprintf(stderr, "uws-server: cannot listen on %d\n", port);
    return 1;
  }
  std::printf("uws-server listening on %d\n", port);
  std::fflush(stdout);
  app.run();
}
