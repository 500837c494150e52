// permessage-deflate's decompressor fed arbitrary bytes in arbitrary pieces: it ends in ok,
// too_big or corrupt, and never holds more than one byte past the limit.
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
  auto pieces = duplex::fuzz::chunks(data, size);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size() || (pieces[i].size() % 7 == 0);
    const auto r = codec.inflate({pieces[i].data(), pieces[i].size()}, last, out, limit);
    FUZZ_CHECK(out.size() <= limit + 1);
    if (r != deflate_codec::result::ok) return 0;
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
