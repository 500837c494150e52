// A client that stays connected: keepalive pings, automatic reconnection with backoff, and a
// subscription sent again on every open.
//   reconnect ws://127.0.0.1:9001/feed     (Ctrl-C to stop)
// With --self-test it runs its own server, which drops the first connection: the client comes
// back, subscribes again and gets its answer, then everything stops.
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  if (argc < 2) {
    std::fprintf(stderr, "usage: reconnect ws://host:port/path | --self-test\n");
    return 2;
  }
  duplex::server_options so;
  so.handle_signals = false;
  duplex::server server(so);
  int opens = 0;
  duplex::ws_behavior feed;
  feed.on_open = [&](duplex::websocket& ws) {
    if (++opens == 1) ws.terminate();  // as a crash or a network cut would
  };
  feed.on_message = [](duplex::websocket& ws, std::string_view data, duplex::ws::opcode) {
    ws.send("subscribed to " + std::string(data.substr(data.find(' ') + 1)));
  };
  server.ws("/feed", std::move(feed));
  std::thread serving;
  std::string url = argv[1];
  if (self_test) {
    server.listen();
    serving = std::thread([&] { server.run(); });
    url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/feed";
  }

  duplex::client_options options;
  options.ping_interval = 20s;  // a quiet connection is pinged; no answer in 10 s: it is dead
  options.reconnect.enabled = true;
  options.reconnect.initial = self_test ? 50ms : 500ms;
  options.reconnect.max = 30s;

  duplex::net::event_loop loop;
  int status = 1;
  duplex::client_handlers h;
  h.on_open = [](duplex::client& c) {
    std::printf("open (reconnects: %u)\n", c.reconnects());
    c.send("subscribe news");  // what the server forgot with the old connection
  };
  h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
    std::printf("%.*s\n", static_cast<int>(data.size()), data.data());
    if (self_test && c.reconnects() > 0) {
      status = 0;
      c.close();
    }
  };
  // on_retry follows on_close or on_error at once when another attempt is coming; without it,
  // that was the end.
  bool retrying = false;
  const auto maybe_done = [&] {
    retrying = false;
    loop.add_timer(0ms, [&] {
      if (!retrying) loop.stop();
    });
  };
  h.on_retry = [&](duplex::client&, unsigned attempt, std::chrono::milliseconds delay) {
    retrying = true;
    std::printf("retry %u in %lld ms\n", attempt, static_cast<long long>(delay.count()));
  };
  h.on_error = [&](duplex::client&, const duplex::client_error& e) {
    std::fprintf(stderr, "reconnect: %s\n", e.message().c_str());
    maybe_done();
  };
  h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { maybe_done(); };
  duplex::client client(loop, options, h);
  client.connect(url);
  if (self_test) loop.add_timer(5s, [&] { loop.stop(); });
  loop.run();
  if (self_test) {
    server.shutdown();
    serving.join();
  }
  return status;
}
