// A server and a client in one process: the client's message comes back, and both end. What
// the package test runs to prove an installed duplex works.
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>
#include <duplex/version.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main() {
  duplex::server_options options;  // port 0: any free port on 127.0.0.1
  options.handle_signals = false;
  duplex::server server(options);
  duplex::ws_behavior echo;
  echo.on_message = [](duplex::websocket& ws, std::string_view data, duplex::ws::opcode op) {
    ws.send(data, op);
  };
  server.ws("/echo", std::move(echo));
  server.listen();
  std::thread serving([&] { server.run(); });

  duplex::net::event_loop loop;
  std::string reply;
  duplex::client_handlers h;
  h.on_open = [](duplex::client& c) { c.send("hello from an installed duplex"); };
  h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
    reply = data;
    c.close();
  };
  h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](duplex::client&, const duplex::client_error&) { loop.stop(); };
  duplex::client client(loop, {}, h);
  loop.add_timer(std::chrono::seconds(10), [&] { loop.stop(); });
  client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/echo");
  loop.run();

  server.shutdown();
  serving.join();
  std::printf("duplex %s: %s\n", duplex::version_string, reply.c_str());
  return reply == "hello from an installed duplex" ? 0 : 1;
}
