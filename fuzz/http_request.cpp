// The HTTP request-head parser fed arbitrary bytes in arbitrary pieces: it either completes with
// views inside the buffer, asks for more, or fails with a documented 4xx/5xx status. The same
// bytes read as pipelined heads give, head by head, what a fresh parser gives, in linear work.
#include "duplex/http/request_parser.hpp"
#include "duplex/ws/handshake.hpp"
#include "fuzz_check.hpp"

#include <string>

namespace {

using namespace duplex::http;

constexpr parser_limits limits{.max_head_bytes = 2048, .max_target_bytes = 512, .max_headers = 16};

bool documented(const std::error_code& ec) {
  const int status = status_for(static_cast<errc>(ec.value()));
  return status == 400 || status == 414 || status == 431 || status == 501 || status == 505;
}

// What holds for any head the parser completes, whatever buffer it lies in.
void check_head(const request& r, std::string_view buf) {
  auto inside = [&](std::string_view v) {
    return v.empty() || (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
  };
  FUZZ_CHECK(inside(r.method) && inside(r.target) && !r.method.empty() && !r.target.empty());
  FUZZ_CHECK(r.headers.size() <= 16);
  for (const auto& h : r.headers) {
    FUZZ_CHECK(inside(h.name) && inside(h.value) && !h.name.empty());
    FUZZ_CHECK(h.value.find('\r') == std::string_view::npos &&
               h.value.find('\n') == std::string_view::npos);
  }
  // RFC 9112 section 3.2: only the forms the method allows; CONNECT never completes.
  const target_parts t = split_target(r.target);
  FUZZ_CHECK(t.form == target_form::origin || t.form == target_form::absolute ||
             (t.form == target_form::asterisk && r.method == "OPTIONS"));
  FUZZ_CHECK(r.method != "CONNECT");
  const auto path = r.path();
  FUZZ_CHECK(!path.empty() && (path.front() == '/' || path == "*"));
  FUZZ_CHECK(path == "/" || inside(path));
  FUZZ_CHECK(inside(r.query()));
  // Section 6.3: a completed head always has a body length the server can tell; whatever it
  // accepts without reading a body, plain or upgrade, has none.
  const body_framing body = request_body(r);
  FUZZ_CHECK(body.kind != body_kind::invalid);
  const refusal no = check_without_body(r);
  FUZZ_CHECK(no.status == 0 || no.status == 400 || no.status == 413 || no.status == 501);
  if (no.status == 0) FUZZ_CHECK(body.empty());
  duplex::ws::upgrade_request up;
  if (duplex::ws::is_upgrade_attempt(r) && !duplex::ws::validate_upgrade(r, up))
    FUZZ_CHECK(body.empty());
}

// One head, fed piece by piece into a growing buffer.
void one_head(const std::vector<std::vector<char>>& pieces) {
  request_parser p(limits);
  std::string buf;
  for (const auto& piece : pieces) {
    buf.append(piece.data(), piece.size());
    const auto st = p.parse(buf);
    FUZZ_CHECK(p.bytes_scanned() <= 2 * buf.size());
    if (st == request_parser::status::incomplete) {
      FUZZ_CHECK(buf.size() <= 2048 + 64);
      continue;
    }
    if (st == request_parser::status::error) {
      FUZZ_CHECK(documented(p.error()));
      return;
    }
    FUZZ_CHECK(p.head_size() <= buf.size() && p.head_size() <= 2048);
    check_head(p.request(), buf);
    return;
  }
}

// The same pieces as pipelined heads: each one the reader completes is the head a fresh parser
// finds in the bytes from there on, and the reader's work stays linear in the bytes received.
void pipelined(const std::vector<std::vector<char>>& pieces) {
  request_reader reader(limits);
  std::string all;
  std::size_t consumed = 0;
  for (const auto& piece : pieces) {
    reader.append({piece.data(), piece.size()});
    all.append(piece.data(), piece.size());
    while (true) {
      const auto st = reader.parse();
      request_parser fresh(limits);
      const std::string_view rest = std::string_view(all).substr(consumed);
      FUZZ_CHECK(fresh.parse(rest) == st);
      FUZZ_CHECK(reader.buffered() == rest.size());
      if (st == request_parser::status::error) {
        FUZZ_CHECK(documented(reader.error()));
        return;
      }
      if (st == request_parser::status::incomplete) break;
      FUZZ_CHECK(reader.head_size() == fresh.head_size());
      FUZZ_CHECK(reader.request().target == fresh.request().target);
      FUZZ_CHECK(reader.request().headers.size() == fresh.request().headers.size());
      FUZZ_CHECK(reader.after_head() == rest.substr(fresh.head_size()));
      check_head(fresh.request(), rest);
      consumed += reader.head_size();
      reader.consume();
    }
    FUZZ_CHECK(reader.bytes_scanned() <= 2 * all.size());
    FUZZ_CHECK(reader.bytes_moved() <= all.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto pieces = duplex::fuzz::chunks(data, size);
  one_head(pieces);
  pipelined(pieces);
  return 0;
}
