// The HTTP request-head parser fed arbitrary bytes in arbitrary pieces: it either completes with
// views inside the buffer, asks for more, or fails with a documented 4xx/5xx status.
#include "duplex/http/request_parser.hpp"
#include "fuzz_check.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace duplex::http;
  request_parser p({.max_head_bytes = 2048, .max_target_bytes = 512, .max_headers = 16});
  std::string buf;
  for (const auto& piece : duplex::fuzz::chunks(data, size)) {
    buf.append(piece.data(), piece.size());
    const auto st = p.parse(buf);
    if (st == request_parser::status::incomplete) {
      FUZZ_CHECK(buf.size() <= 2048 + 64);
      continue;
    }
    if (st == request_parser::status::error) {
      const int status = status_for(static_cast<errc>(p.error().value()));
      FUZZ_CHECK(status == 400 || status == 414 || status == 431 || status == 501 || status == 505);
      return 0;
    }
    FUZZ_CHECK(p.head_size() <= buf.size() && p.head_size() <= 2048);
    const auto& r = p.request();
    auto inside = [&](std::string_view v) {
      return v.empty() ||
             (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
    };
    FUZZ_CHECK(inside(r.method) && inside(r.target) && !r.method.empty() && !r.target.empty());
    FUZZ_CHECK(r.headers.size() <= 16);
    for (const auto& h : r.headers) {
      FUZZ_CHECK(inside(h.name) && inside(h.value) && !h.name.empty());
      FUZZ_CHECK(h.value.find('\r') == std::string_view::npos &&
                 h.value.find('\n') == std::string_view::npos);
    }
    return 0;
  }
  return 0;
}
