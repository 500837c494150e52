// permessage-deflate's decompressor fed arbitrary bytes in arbitrary pieces, empty ones
// included: it ends in ok, too_big or corrupt, never holds more than one byte past the limit,
// and its work stays in proportion to the bytes fed and inflated.
#include "duplex/ws/deflate.hpp"
#include "fuzz_check.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using duplex::ws::deflate_codec;
  duplex::ws::deflate_params p;
  p.server_no_context_takeover = size > 0 && (data[0] & 1);
  deflate_codec codec(true, p, 6);
  const std::size_t limit = 64 * 1024;
  std::string out;
  std::size_t calls = 0, fed = 0, produced = 0;
  // Checked after every call: a constant per call, plus zlib calls per byte fed (a stream may
  // end at any byte) and per 16 KiB inflated; bytes written are the bytes inflated plus copies
  // when the buffer grows, which never grows past the limit.
  auto inflate = [&](std::string_view in, bool last) {
    const std::size_t before = out.size();
    const auto r = codec.inflate(in, last, out, limit);
    ++calls;
    fed += in.size();
    produced += out.size() - before;
    FUZZ_CHECK(out.size() <= limit + 1);
    FUZZ_CHECK(codec.work().zlib_calls <= 8 * calls + fed + produced / (16 * 1024));
    FUZZ_CHECK(codec.work().bytes_written <= produced + 2 * (limit + 1));
    return r;
  };
  auto pieces = duplex::fuzz::chunks(data, size);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size() || (pieces[i].size() % 7 == 0);
    // Empty continuation frames reach the codec as empty pieces.
    if (pieces[i].size() % 5 == 0 && inflate({}, false) != deflate_codec::result::ok) return 0;
    if (inflate({pieces[i].data(), pieces[i].size()}, last) != deflate_codec::result::ok) return 0;
    if (last) out.clear();
  }
  // What it inflated can be compressed and inflated back.
  std::string packed, again;
  FUZZ_CHECK(codec.compress(out, packed));
  deflate_codec peer(false, p, 6);
  FUZZ_CHECK(peer.inflate(packed, true, again, limit + 1) == deflate_codec::result::ok);
  FUZZ_CHECK(again == out);
  return 0;
}
