// The server connection's HTTP phase over a fake wire, driven by the input: bytes in any
// pieces, interleaved with what the application and the clock do (a deferred answer, a
// resume, the deadline sweep, the client's FIN), on routes of every kind. Whatever comes, the
// loop survives, every answer is HTTP, and once the client has gone the connection ends.
#include <optional>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "support/body_wire.hpp"

namespace {

using namespace duplex;

struct app {
  std::vector<http_exchange> waiting;  // deferred answers and paused streams

  void routes(test::body_wire& w) {
    w.buffered("/b", [](http_exchange ex, std::string body) {
      ex.respond(http_response().body(std::to_string(body.size())));
    });
    w.buffered("/d", [this](http_exchange ex, std::string) { waiting.push_back(ex); },
               {.max_bytes = 256});
    w.buffered("/p/", [](http_exchange ex, std::string) { ex.respond(http_response()); },
               {.max_bytes = 64, .prefix = true});
    w.buffered("/t", [](http_exchange, std::string) { throw std::runtime_error("t"); });
    http_stream_behavior s;
    s.body.max_bytes = 512;
    s.on_head = [](http_exchange& ex) {
      if (ex.request().query() == "deny") ex.respond(http_response().status(401));
    };
    s.on_data = [this](http_exchange& ex, std::string_view piece) {
      if (piece.size() % 2 == 1) {
        ex.pause();
        waiting.push_back(ex);
      }
    };
    s.on_end = [](http_exchange& ex) { ex.respond(http_response().body("end")); };
    s.on_abort = [](http_exchange& ex, std::error_code) { FUZZ_CHECK(!ex.open()); };
    w.streaming("/s", std::move(s));
    w.state.http_routes["/h"] = [](const http::request&, http_response& res) { res.body("h"); };
  }
  // The application catches up: every deferred answer given, every paused stream resumed.
  void settle() {
    for (auto& ex : std::exchange(waiting, {})) {
      ex.resume();
      ex.respond(http_response().status(202));
    }
  }
};

// Every byte written is a sequence of HTTP responses (interim 100s included).
void check_output(const std::string& out, bool& first) {
  if (out.empty()) return;
  if (first) FUZZ_CHECK(out.rfind("HTTP/1.1 ", 0) == 0);
  first = false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  server_options o;
  o.max_backpressure = 1 << 16;
  test::body_wire w(o);
  app a;
  a.routes(w);
  w.connect();
  bool first = true;
  std::size_t i = 0;
  while (i < size && w.alive()) {
    const std::uint8_t op = data[i++];
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
      case 3: {  // the next 1..32 bytes arrive
        const std::size_t n = std::min<std::size_t>(size - i, 1 + (op >> 3));
        w.wire.feed({reinterpret_cast<const char*>(data + i), n});
        i += n;
        w.step(1);
        break;
      }
      case 4:
        if (!a.waiting.empty()) {  // the oldest exchange answered, or resumed
          http_exchange ex = a.waiting.front();
          // One never answered would hold its connection: by design, the application's call.
          if (op & 0x80) {
            a.waiting.erase(a.waiting.begin());
            ex.respond(http_response().body("later"));
          }
          ex.resume();
        }
        w.step(2);
        break;
      case 5:
        w.expire_all();
        break;
      case 6:
        w.wire.end();
        w.step(1);
        break;
      default:
        w.step(1);
        break;
    }
    check_output(w.wire.take_output(), first);
  }
  // The client leaves; the application answers what it holds; the timers run out.
  a.settle();
  w.wire.end();
  for (int k = 0; k < 4 && w.alive(); ++k) {
    w.step();
    a.settle();
    w.expire_all();
  }
  check_output(w.wire.take_output(), first);
  FUZZ_CHECK(!w.alive());
  return 0;
}
