// The request-body decoder fed arbitrary bytes in arbitrary pieces: the body, its end, its
// trailers and its error are the same whole, in the input's own split and byte by byte; pieces
// are views into the input; nothing passes the limit; refusals are documented statuses. A body
// chunked here from the input's bytes decodes back to them.
#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "duplex/http/body_decoder.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace duplex::http;
using pieces = std::vector<std::vector<char>>;

struct setup {
  body_framing framing;
  std::uint64_t max_body;
  body_limits limits;
};

struct outcome {
  body_decoder::status status = body_decoder::status::incomplete;
  std::error_code error;
  std::string body;
  std::size_t consumed = 0;
  std::vector<std::pair<std::string, std::string>> trailers;
};

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool documented(const std::error_code& ec) {
  const int status = status_for(static_cast<errc>(ec.value()));
  return status == 400 || status == 413 || status == 431;
}

// Feeds the pieces as a connection does: unconsumed bytes are kept and given again.
outcome decode(const setup& s, const pieces& parts) {
  body_decoder d(s.limits);
  d.start(s.framing, s.max_body);
  outcome o;
  o.status = d.state();
  std::string pending;
  std::size_t given = 0;
  for (const auto& part : parts) {
    if (o.status != body_decoder::status::incomplete) break;
    pending.append(part.data(), part.size());
    given += part.size();
    std::string_view in = pending;
    while (!in.empty()) {
      const auto step = d.decode(in);
      FUZZ_CHECK(inside(step.data, in) && step.consumed <= in.size());
      FUZZ_CHECK(step.consumed > 0 || step.state != body_decoder::status::incomplete);
      o.body.append(step.data);
      o.consumed += step.consumed;
      in.remove_prefix(step.consumed);
      o.status = step.state;
      if (step.state != body_decoder::status::incomplete) break;
    }
    pending = std::string(in);
    // What is not consumed is only ever what follows a body that ended or failed.
    if (o.status == body_decoder::status::incomplete) FUZZ_CHECK(o.consumed == given);
  }
  o.error = d.error();
  FUZZ_CHECK(d.received() == o.body.size() && o.body.size() <= s.max_body);
  FUZZ_CHECK((o.status == body_decoder::status::error) == static_cast<bool>(o.error));
  if (o.error) FUZZ_CHECK(documented(o.error));
  if (o.status == body_decoder::status::complete && s.framing.kind == body_kind::length)
    FUZZ_CHECK(o.body.size() == s.framing.length && o.consumed == s.framing.length);
  for (const auto& t : d.trailers()) {
    FUZZ_CHECK(!t.name.empty() && t.value.find_first_of("\r\n") == std::string_view::npos);
    o.trailers.emplace_back(t.name, t.value);
  }
  if (o.status != body_decoder::status::complete) FUZZ_CHECK(o.trailers.empty());
  return o;
}

// The same bytes in three splits give the same result; only where an error stops reading may
// differ (a trailer line is taken up to its LF or the end of what arrived).
void same_whatever_the_split(const setup& s, const pieces& parts) {
  std::vector<char> all;
  for (const auto& p : parts)
    all.insert(all.end(), p.begin(), p.end());
  pieces bytes;
  for (char c : all)
    bytes.push_back({c});
  const outcome whole = decode(s, {all});
  if (s.framing.kind == body_kind::length && whole.status != body_decoder::status::error) {
    const std::size_t n = std::min<std::size_t>(s.framing.length, all.size());
    FUZZ_CHECK(whole.body == std::string_view(all.data(), n));
  }
  for (const pieces* other : {&parts, static_cast<const pieces*>(&bytes)}) {
    const outcome o = decode(s, *other);
    FUZZ_CHECK(o.status == whole.status && o.error == whole.error && o.body == whole.body);
    FUZZ_CHECK(o.trailers == whole.trailers);
    if (o.status != body_decoder::status::error) FUZZ_CHECK(o.consumed == whole.consumed);
  }
}

// Chunks `payload` with sizes, hex case, leading zeros and extensions taken from `seed`, adds
// trailers, and checks the decoder gives the payload back and stops where the encoding ends.
void round_trip(std::string_view payload, std::uint8_t seed, const pieces& split) {
  std::string encoded;
  std::size_t at = 0;
  unsigned k = 0;
  while (at < payload.size()) {
    const std::size_t n = std::min<std::size_t>(1 + (seed * 7 + k * 13) % 97, payload.size() - at);
    static const char* const digits[] = {"0123456789abcdef", "0123456789ABCDEF"};
    std::string hex;
    for (std::size_t v = n; v > 0; v /= 16)
      hex.insert(hex.begin(), digits[(seed + k) & 1][v % 16]);
    if ((seed >> 1) & 1) hex.insert(0, k % 3, '0');
    encoded += hex;
    if ((seed >> 2) & 1) encoded += k % 2 ? ";a=\"x;\\\"y\"" : " ; b = c;d";
    encoded += "\r\n";
    encoded.append(payload.substr(at, n));
    encoded += "\r\n";
    at += n;
    ++k;
  }
  encoded += (seed >> 3) & 1 ? "0;end\r\nX-Sum: 1\r\nY:\r\n\r\n" : "0\r\n\r\n";
  const std::size_t body_end = encoded.size();
  encoded += "GET / HTTP/1.1\r\n\r\n";  // the next request, which the body must not take
  pieces parts;
  std::size_t i = 0;
  for (const auto& p : split) {  // the input's own cut sizes, over the encoded bytes
    if (i >= encoded.size()) break;
    const std::size_t n = std::min(p.size(), encoded.size() - i);
    parts.emplace_back(encoded.begin() + static_cast<std::ptrdiff_t>(i),
                       encoded.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += n;
  }
  if (i < encoded.size())
    parts.emplace_back(encoded.begin() + static_cast<std::ptrdiff_t>(i), encoded.end());
  const setup s{{body_kind::chunked}, payload.size(), {}};
  const outcome o = decode(s, parts);
  FUZZ_CHECK(o.status == body_decoder::status::complete);
  FUZZ_CHECK(o.body == payload && o.consumed == body_end);
  FUZZ_CHECK(o.trailers.size() == ((seed >> 3) & 1 ? 2u : 0u));
}

}  // namespace

// Byte 0 picks the framing and the limits, byte 1 scales a Content-Length (3 per unit) and a
// body limit (1 to 4 per unit); the rest is the body, cut into pieces by duplex::fuzz::chunks.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  const std::uint8_t arg = data[1];
  const auto parts = duplex::fuzz::chunks(data + 2, size - 2);
  std::string rest;
  for (const auto& p : parts)
    rest.append(p.data(), p.size());
  if ((mode & 3) == 3) {
    round_trip(rest, arg, parts);
    return 0;
  }
  setup s{{body_kind::chunked}, std::numeric_limits<std::uint64_t>::max(), {}};
  if ((mode & 3) == 1) s.framing = {body_kind::length, arg * 3u};
  if ((mode & 3) == 2 || (mode & 4)) s.max_body = arg * ((mode >> 6) + 1u);
  if (mode & 8) s.limits.max_chunk_ext_bytes = 8;
  if (mode & 16) s.limits.max_trailer_bytes = (mode & 32) ? 0 : 24;
  same_whatever_the_split(s, parts);
  return 0;
}
