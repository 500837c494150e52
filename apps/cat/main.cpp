// duplex-cat URL: each line of stdin becomes a message, each message received goes to stdout.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "duplex/client/client.hpp"

namespace {

using namespace duplex;

// Reads stdin line by line on the loop (pipes and terminals) and hands each line over.
class line_reader final : public net::io_handler {
 public:
  line_reader(net::event_loop& loop, std::function<void(std::string_view)> on_line,
              std::function<void()> on_end)
      : loop_(loop), on_line_(std::move(on_line)), on_end_(std::move(on_end)) {}
  // epoll cannot watch a regular file: then everything is read at once.
  void start() {
    try {
      loop_.add(STDIN_FILENO, net::io_events::readable, this);
      watching_ = true;
    } catch (const std::exception&) {
      while (!done_)
        on_io(net::io_events::readable);
    }
  }
  void on_io(net::io_events) override {
    char buf[65536];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) return finish();
    pending_.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      std::string_view line(pending_.data(), nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line_(line);
      pending_.erase(0, nl + 1);
    }
  }

 private:
  void finish() {
    if (done_) return;
    done_ = true;
    if (!pending_.empty()) on_line_(pending_);
    if (watching_) loop_.remove(STDIN_FILENO);
    on_end_();
  }
  net::event_loop& loop_;
  std::function<void(std::string_view)> on_line_;
  std::function<void()> on_end_;
  std::string pending_;
  bool watching_ = false;
  bool done_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duplex-cat: send stdin lines as WebSocket messages, print what comes back"};
  std::string url;
  bool binary = false;
  bool no_deflate = false;
  bool verbose = false;
  unsigned linger_ms = 500;
  std::vector<std::string> headers;
  client_options opts;
  app.add_option("url", url, "ws://host[:port]/path")->required();
  app.add_flag("--binary", binary, "send lines as binary messages");
  app.add_option("-H,--header", headers, "extra request header, \"Name: value\" (repeatable)");
  app.add_option("--subprotocol", opts.subprotocols, "subprotocol to offer (repeatable)");
  app.add_flag("--no-deflate", no_deflate, "do not offer permessage-deflate");
  bool insecure = false;
  app.add_option("--ca", opts.tls.ca_file,
                 "wss://: trust this PEM file instead of the system's store");
  app.add_flag("-k,--insecure", insecure,
               "wss://: do not verify the certificate (test certificates)");
  app.add_flag("-v,--verbose", verbose, "report what the handshake agreed, on stderr");
  app.add_option("--linger", linger_ms,
                 "after stdin ends, close once nothing arrived for this many ms")
      ->capture_default_str();
  std::string io = "auto";
  app.add_option("--io", io, "I/O backend: auto (DUPLEX_IO, else epoll), epoll or uring")
      ->check(CLI::IsMember({"auto", "epoll", "uring"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  opts.deflate.enabled = !no_deflate;
  opts.tls.verify = !insecure;
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "duplex-cat: header must be \"Name: value\": %s\n", h.c_str());
      return 2;
    }
    std::string value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    opts.headers.emplace_back(h.substr(0, colon), value);
  }

  net::loop_options loop_opts;
  net::parse_io_backend(io, loop_opts.io);
  net::event_loop loop(loop_opts);
  int status = 0;
  // After stdin ends, replies may still be on their way: close once the line has been quiet.
  bool input_done = false;
  net::timer_id linger = 0;
  std::function<void(client&)> close_when_quiet = [&](client& c) {
    if (linger) loop.cancel_timer(linger);
    linger = loop.add_timer(std::chrono::milliseconds(linger_ms), [&c, &linger] {
      linger = 0;
      c.close();
    });
  };
  std::unique_ptr<line_reader> input;
  client_handlers h;
  h.on_open = [&](client& c) {
    if (verbose) {
      std::fprintf(stderr, "duplex-cat: open (extensions: %.*s; subprotocol: %.*s)\n",
                   static_cast<int>(c.extensions().size()), c.extensions().data(),
                   static_cast<int>(c.subprotocol().size()), c.subprotocol().data());
    }
    input = std::make_unique<line_reader>(
        loop,
        [&c, binary](std::string_view line) {
          c.send(line, binary ? ws::opcode::binary : ws::opcode::text);
        },
        [&] {
          input_done = true;
          close_when_quiet(c);
        });
    input->start();
  };
  h.on_message = [&](client& c, std::string_view data, ws::opcode) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (input_done) close_when_quiet(c);
  };
  h.on_close = [&](client&, ws::close_code code_typed, std::string_view reason) {
    const std::uint16_t code = duplex::ws::to_int(code_typed);
    if (linger) loop.cancel_timer(linger);
    if (code != 1000 && code != 1001 && code != 1005) {
      std::fprintf(stderr, "duplex-cat: closed with %u %.*s\n", code,
                   static_cast<int>(reason.size()), reason.data());
      status = 3;
    }
    loop.stop();
  };
  h.on_error = [&](client&, const duplex::client_error& e) {
    const std::string_view why = e.message();
    std::fprintf(stderr, "duplex-cat: %.*s\n", static_cast<int>(why.size()), why.data());
    status = 1;
    loop.stop();
  };
  client c(loop, opts, std::move(h));
  c.connect(url);
  loop.run();
  return status;
}
