// Taking POSTs: /echo gathers a small body (a JSON document, say) and sends it back; /upload
// streams a large one, counting its bytes as they come, and answers from a timer once it is
// in (work finished later). With --self-test, it posts to both and checks the answers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <duplex/net/event_loop.hpp>
#include <duplex/server/server.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

namespace {

// A blocking HTTP/1.1 exchange over loopback for the self-test: the whole answer, until close.
std::string post(std::uint16_t port, std::string_view path, const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return {};
  std::string req = "POST " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" +
                    "Connection: close\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body;
  for (std::size_t at = 0; at < req.size();) {
    const auto n = ::send(fd, req.data() + at, req.size() - at, MSG_NOSIGNAL);
    if (n <= 0) break;
    at += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

}  // namespace

int main(int argc, char** argv) {
  const bool self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  duplex::server_options options;
  options.port = self_test ? 0 : 9004;
  options.handle_signals = !self_test;
  if (self_test) options.log = [](std::string_view) {};  // the 413 below is expected
  duplex::server server(options);

  // Buffered: one call with the whole body, at most 64 KiB of it (413 past that).
  server.http_body("/echo",
                   [](duplex::http_exchange ex, std::string body) {
                     const auto type =
                         ex.request().find("Content-Type").value_or("application/octet-stream");
                     ex.respond(duplex::http_response().body(std::move(body), std::string(type)));
                   },
                   {.max_bytes = 64 * 1024});

  // Streaming: pieces as they arrive, up to 64 MiB, with per-upload state.
  duplex::http_stream_behavior upload;
  upload.body.max_bytes = 64 * 1024 * 1024;
  auto counted = std::make_shared<std::size_t>(0);  // one upload at a time, for the example
  upload.on_head = [counted](duplex::http_exchange&) { *counted = 0; };
  upload.on_data = [counted](duplex::http_exchange&, std::string_view piece) {
    *counted += piece.size();  // a real server would write it out, pausing while that lags
  };
  upload.on_end = [&server, counted](duplex::http_exchange& ex) {
    server.loop(ex.loop()).add_timer(10ms, [ex, n = *counted]() mutable {
      ex.respond(duplex::http_response().body("stored " + std::to_string(n) + " bytes\n"));
    });
  };
  upload.on_abort = [](duplex::http_exchange& ex, std::error_code why) {
    std::printf("upload from %s abandoned: %s\n", std::string(ex.peer()).c_str(),
                why.message().c_str());
  };
  server.http_stream("/upload", std::move(upload));

  if (!self_test) {
    std::printf("POST to http://127.0.0.1:9004/echo or /upload\n");
    server.run();
    return 0;
  }
  server.listen();
  std::thread serving([&] { server.run(); });
  const std::string echoed = post(server.port(), "/echo", R"({"hello":"world"})");
  const std::string stored = post(server.port(), "/upload", std::string(3'000'000, 'u'));
  const std::string refused = post(server.port(), "/echo", std::string(100'000, 'x'));
  server.shutdown();
  serving.join();
  const bool ok = echoed.ends_with(R"({"hello":"world"})") &&
                  stored.find("stored 3000000 bytes") != std::string::npos &&
                  refused.starts_with("HTTP/1.1 413");
  std::printf("%s\n", ok ? "upload: ok" : "upload: FAILED");
  return ok ? 0 : 1;
}
