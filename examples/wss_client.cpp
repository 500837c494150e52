// A wss:// client that trusts one certificate authority (a private CA, or a self-signed server)
// instead of the system's store: the chain and the host name are still checked.
//   wss_client wss://host:port/path ca.pem
// With --self-test CERT KEY it first starts a TLS echo server with that certificate (made for
// "localhost"), then connects to it trusting CERT as the authority.
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

// Connects, sends one message and returns the answer (or the error).
std::string ask(const std::string& url, const std::string& ca_file) {
  duplex::net::event_loop loop;
  std::string answer;
  duplex::client_handlers h;
  h.on_open = [](duplex::client& c) { c.send("hello over TLS"); };
  h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
    answer = data;
    c.close();
  };
  h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](duplex::client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    answer = "error: " + std::string(why);
    loop.stop();
  };
  duplex::client_options options;
  options.tls.ca_file = ca_file;  // trust this authority (verification stays on)
  duplex::client client(loop, options, h);
  loop.add_timer(10s, [&] { loop.stop(); });
  client.connect(url);
  loop.run();
  return answer;
}

int main(int argc, char** argv) {
  if (argc == 3) {
    std::printf("%s\n", ask(argv[1], argv[2]).c_str());
    return 0;
  }
  if (argc != 4 || std::string_view(argv[1]) != "--self-test") {
    std::fprintf(stderr, "usage: wss_client URL CA_FILE | wss_client --self-test CERT KEY\n");
    return 2;
  }
  duplex::server_options options;
  options.handle_signals = false;
  options.tls.cert_file = argv[2];
  options.tls.key_file = argv[3];
  duplex::server server(options);
  duplex::ws_behavior echo;
  echo.on_message = [](duplex::websocket& ws, std::string_view data, duplex::ws::opcode op) {
    ws.send(data, op);
  };
  server.ws("/", std::move(echo));
  server.listen();
  std::thread serving([&] { server.run(); });
  const std::string answer = ask("wss://localhost:" + std::to_string(server.port()) + "/", argv[2]);
  server.shutdown();
  serving.join();
  std::printf("wss_client: %s\n", answer.c_str());
  return answer == "hello over TLS" ? 0 : 1;
}
