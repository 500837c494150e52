// An echo server: every message comes back to its sender. ws://127.0.0.1:9001/
#include <duplex/server/server.hpp>

int main() {
  duplex::server_options options;
  options.port = 9001;
  duplex::server server(options);
  duplex::ws_behavior echo;
  echo.on_message = [](duplex::websocket& ws, std::string_view data, duplex::ws::opcode op) {
    ws.send(data, op);
  };
  server.ws("/", std::move(echo));
  server.run();  // until SIGINT or SIGTERM
}
