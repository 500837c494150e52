// Backpressure: a server streams 32 MiB to each client without letting its send queue grow
// past 1 MiB. It sends while buffered_amount() is below that, stops, and carries on from
// on_drain, which fires once the queue has fallen to drain_watermark.
// With --self-test a client reads it all, then both sides report.
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

constexpr std::size_t total = 32 << 20, chunk = 64 << 10, high_water = 1 << 20;

// Per-socket progress, kept with the socket (emplace_data).
struct stream_state {
  std::size_t sent = 0;
};

std::atomic<int> drains{0};

// Sends until the queue is high or everything went; on_drain calls it again.
void pump(duplex::websocket& ws) {
  static const std::string block(chunk, 'x');
  auto& st = *ws.data<stream_state>();
  while (st.sent < total && ws.buffered_amount() < high_water) {
    if (!ws.send(block, duplex::ws::opcode::binary)) return;  // closed (or dropped)
    st.sent += chunk;
  }
}

int main(int argc, char** argv) {
  const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  duplex::server_options options;
  options.port = self_test ? 0 : 9005;
  options.handle_signals = !self_test;
  duplex::server server(options);
  duplex::ws_behavior b;
  b.on_open = [](duplex::websocket& ws) {
    ws.emplace_data<stream_state>();
    pump(ws);
  };
  b.on_drain = [](duplex::websocket& ws) {
    ++drains;
    pump(ws);
  };
  server.ws("/stream", std::move(b));
  if (!self_test) {
    server.run();
    return 0;
  }
  server.listen();
  std::thread serving([&] { server.run(); });

  duplex::net::event_loop loop;
  std::size_t received = 0;
  duplex::client_handlers h;
  h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
    // A reader as fast as the writer never makes it wait: stall once, as a slow peer would, so
    // that the server's queue reaches its high water and on_drain has to resume the stream.
    if (received == 0) std::this_thread::sleep_for(300ms);
    received += data.size();
    if (received == total) c.close();
  };
  h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](duplex::client&, const duplex::client_error&) { loop.stop(); };
  duplex::client client(loop, {}, h);
  loop.add_timer(20s, [&] { loop.stop(); });
  client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/stream");
  loop.run();
  server.shutdown();
  serving.join();
  std::printf("backpressure: %zu of %zu bytes, the sender paused %d times\n", received, total,
              drains.load());
  return received == total && drains > 0 ? 0 : 1;
}
