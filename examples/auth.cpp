// Authentication in the upgrade hook, with per-socket data: a client must present a known token
// (in a cookie or an Authorization header); its user name then lives with its socket. With
// --self-test, a client without a token is refused (401) and one with a token is greeted.
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

struct user {
  std::string name;
};

int main(int argc, char** argv) {
  const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  const std::map<std::string, std::string, std::less<>> tokens{{"s3cret", "ada"}};

  duplex::server_options options;
  options.port = self_test ? 0 : 9003;
  options.handle_signals = !self_test;
  options.log = [](std::string_view) {};  // the refusal below is expected
  duplex::server server(options);
  duplex::ws_behavior b;
  b.on_upgrade = [&](duplex::upgrade_context& up) {
    auto token = up.cookie("token");
    if (!token) {
      auto header = up.request.find("Authorization");
      if (header && header->starts_with("Bearer ")) token = header->substr(7);
    }
    auto found = token ? tokens.find(*token) : tokens.end();
    if (found == tokens.end()) return 401;
    up.socket.emplace_data<user>(user{found->second});
    return 0;
  };
  b.on_open = [](duplex::websocket& ws) { ws.send("hello, " + ws.data<user>()->name); };
  server.ws("/", std::move(b));
  if (!self_test) {
    server.run();
    return 0;
  }
  server.listen();
  std::thread serving([&] { server.run(); });

  auto attempt = [&](duplex::client_options co) {
    duplex::net::event_loop loop;
    std::string outcome;
    duplex::client_handlers h;
    h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
      outcome = data;
      c.close();
    };
    h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
    h.on_error = [&](duplex::client&, const duplex::client_error& e) {
      const std::string_view why = e.message();
      outcome = why;
      loop.stop();
    };
    duplex::client client(loop, std::move(co), h);
    loop.add_timer(10s, [&] { loop.stop(); });
    client.connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
    loop.run();
    return outcome;
  };
  const std::string anonymous = attempt({});
  duplex::client_options with_token;
  with_token.headers.emplace_back("Authorization", "Bearer s3cret");
  const std::string known = attempt(with_token);
  server.shutdown();
  serving.join();
  std::printf("auth: without a token: %s; with one: %s\n", anonymous.c_str(), known.c_str());
  return anonymous.find("401") != std::string::npos && known == "hello, ada" ? 0 : 1;
}
