// A timed broadcast and a worker thread: every subscriber of "ticks" gets a tick each 100 ms
// (server.every, on the loop) and the worker's reports (server.publish, from its own thread).
// With --self-test it also runs a client that waits for three of each, then everything stops.
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  duplex::server_options options;
  options.port = self_test ? 0 : 9002;
  options.handle_signals = !self_test;
  duplex::server server(options);
  duplex::ws_behavior listen;
  listen.on_open = [](duplex::websocket& ws) { ws.subscribe("ticks"); };
  server.ws("/ticks", std::move(listen));

  int n = 0;
  server.every(100ms, [&] { server.publish("ticks", "tick " + std::to_string(++n)); });
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    for (int i = 1; !stop; ++i) {
      std::this_thread::sleep_for(150ms);
      server.publish("ticks", "report " + std::to_string(i));  // safe from any thread
    }
  });
  std::thread serving([&] { server.run(); });

  int status = 0;
  if (self_test) {
    duplex::net::event_loop loop;
    int ticks = 0, reports = 0;
    duplex::client_handlers h;
    h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
      (data.starts_with("tick") ? ticks : reports)++;
      if (ticks >= 3 && reports >= 3) c.close();
    };
    h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
    h.on_error = [&](duplex::client&, const duplex::client_error&) { loop.stop(); };
    duplex::client client(loop, {}, h);
    loop.add_timer(10s, [&] { loop.stop(); });
    client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/ticks");
    loop.run();
    std::printf("ticker: %d ticks and %d reports\n", ticks, reports);
    status = ticks >= 3 && reports >= 3 ? 0 : 1;
    server.shutdown();
  }
  serving.join();
  stop = true;
  worker.join();
  return status;
}
