// A client: sends its arguments as one text message to a URL and prints the first reply.
//   client ws://127.0.0.1:9001/ hello there
#include <duplex/client/client.hpp>
#include <duplex/net/event_loop.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: client ws://host:port/path [words...]\n");
    return 2;
  }
  std::string text;
  for (int i = 2; i < argc; ++i)
    text += (i > 2 ? " " : "") + std::string(argv[i]);

  duplex::net::event_loop loop;
  int status = 1;
  duplex::client_handlers h;
  h.on_open = [&](duplex::client& c) { c.send(text); };
  h.on_message = [&](duplex::client& c, std::string_view data, duplex::ws::opcode) {
    std::printf("%.*s\n", static_cast<int>(data.size()), data.data());
    status = 0;
    c.close(duplex::ws::close_code::normal, "done");
  };
  h.on_close = [&](duplex::client&, duplex::ws::close_code, std::string_view) { loop.stop(); };
  h.on_error = [&](duplex::client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    std::fprintf(stderr, "client: %.*s\n", static_cast<int>(why.size()), why.data());
    loop.stop();
  };
  duplex::client client(loop, {}, h);
  client.connect(argv[1]);
  loop.run();
  return status;
}
