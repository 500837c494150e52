#include "duplex/ws/deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>

#include "duplex/ws/connection.hpp"
#include "support/ws_run.hpp"

namespace duplex::ws {
namespace {

using namespace duplex::test;

deflate_options on() {
  deflate_options o;
  o.enabled = true;
  return o;
}

std::string answer(std::string_view offer, deflate_options o = on()) {
  auto a = negotiate_deflate(offer, o);
  return a ? a->response : "declined";
}

TEST(DeflateNegotiation, AcceptsValidOffers) {
  EXPECT_EQ(answer("permessage-deflate"), "permessage-deflate");
  EXPECT_EQ(answer("permessage-deflate; client_max_window_bits"), "permessage-deflate");
  EXPECT_EQ(answer("permessage-deflate; server_no_context_takeover"),
            "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(answer("permessage-deflate; client_no_context_takeover"),
            "permessage-deflate; client_no_context_takeover");
  EXPECT_EQ(answer("permessage-deflate; server_max_window_bits=10"),
            "permessage-deflate; server_max_window_bits=10");
  EXPECT_EQ(answer("permessage-deflate; client_max_window_bits=9"),
            "permessage-deflate; client_max_window_bits=9");
  EXPECT_EQ(answer("permessage-deflate; server_max_window_bits=\"12\""),
            "permessage-deflate; server_max_window_bits=12");
  EXPECT_EQ(answer("PerMessage-Deflate ;  server_no_context_takeover ; client_max_window_bits=15"),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=15");
}

TEST(DeflateNegotiation, DeclinesWhatItCannotOrMustNotAccept) {
  for (const char* bad :
       {"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; unknown_param", "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_max_window_bits=0", "permessage-deflate;",
        "permessage-deflate; server_max_window_bits=8", "x-webkit-deflate-frame", "", ",",
        "permessage-deflate; a=\"unterminated"}) {
    EXPECT_EQ(answer(bad), "declined") << bad;
  }
  EXPECT_EQ(answer("permessage-deflate", deflate_options{}), "declined");  // not enabled
}

TEST(DeflateNegotiation, FallsBackToTheNextOffer) {
  EXPECT_EQ(answer("permessage-deflate; server_max_window_bits=8, permessage-deflate; "
                   "server_max_window_bits=9"),
            "permessage-deflate; server_max_window_bits=9");
  EXPECT_EQ(answer("foo, permessage-deflate"), "permessage-deflate");
}

TEST(DeflateNegotiation, ServerPreferencesShowInTheAnswer) {
  deflate_options o = on();
  o.client_no_context_takeover = true;
  o.server_max_window_bits = 11;
  o.client_max_window_bits = 10;
  auto a = negotiate_deflate("permessage-deflate; client_max_window_bits", o);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response,
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=11; "
            "client_max_window_bits=10");
  EXPECT_TRUE(a->params.client_no_context_takeover);
  EXPECT_EQ(a->params.server_max_window_bits, 11);
  EXPECT_EQ(a->params.client_max_window_bits, 10);
  // A client that did not offer client_max_window_bits is never asked for it.
  a = negotiate_deflate("permessage-deflate", o);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->response.find("client_max_window_bits"), std::string::npos);
}

TEST(DeflateNegotiation, ClientOffersAndChecksTheAnswer) {
  deflate_options o = on();
  EXPECT_EQ(deflate_offer(o), "permessage-deflate; client_max_window_bits");
  EXPECT_TRUE(accept_deflate_response("permessage-deflate", o));
  auto p = accept_deflate_response(
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=10", o);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_EQ(p->client_max_window_bits, 10);
  for (const char* bad :
       {"permessage-deflate; client_max_window_bits", "permessage-deflate, permessage-deflate",
        "other-extension", "permessage-deflate; bogus"}) {
    EXPECT_FALSE(accept_deflate_response(bad, o)) << bad;
  }
  o.server_no_context_takeover = true;
  o.server_max_window_bits = 10;
  EXPECT_EQ(deflate_offer(o),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits");
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; server_max_window_bits=10",
                                       o));  // dropped our demand
  EXPECT_FALSE(accept_deflate_response(
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=12", o));
  EXPECT_TRUE(accept_deflate_response(
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=9", o));
}

std::string sample(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i)
    s += "message " + std::to_string(i % 97) + " ";
  s.resize(n);
  return s;
}

// Memory figures for docs/limits.md come from this test's output.
TEST(DeflateCodec, RoundTripsWithAndWithoutContextTakeover) {
  for (bool takeover : {true, false}) {
    deflate_params p;
    p.server_no_context_takeover = p.client_no_context_takeover = !takeover;
    deflate_codec server(true, p, 6);
    deflate_codec client(false, p, 6);
    for (std::size_t n : {0u, 1u, 100u, 5000u, 70000u, 1u << 20}) {
      std::string packed, plain;
      ASSERT_TRUE(server.compress(sample(n), packed));
      ASSERT_EQ(client.inflate(packed, true, plain, 1u << 21), deflate_codec::result::ok) << n;
      EXPECT_EQ(plain, sample(n)) << n;
      if (n >= 5000) {
        EXPECT_LT(packed.size(), n / 4) << "repetitive text compresses";
      }
    }
    std::printf(
        "[ memory ] context takeover %s: sender %zu bytes, receiver %zu bytes between messages\n",
        takeover ? "on" : "off", server.memory(), client.memory());
    if (!takeover) {
      EXPECT_EQ(server.memory(), 0u);
      EXPECT_EQ(client.memory(), 0u);
    } else {
      EXPECT_GT(server.memory(), 0u);
    }
  }
}

TEST(DeflateCodec, SmallerWindowsUseLessMemory) {
  deflate_params p;
  p.server_max_window_bits = 9;
  deflate_codec small(true, p, 6);
  p.server_max_window_bits = 15;
  deflate_codec big(true, p, 6);
  std::string out;
  small.compress(sample(10000), out);
  big.compress(sample(10000), out);
  std::printf("[ memory ] sender window 9 bits: %zu bytes, 15 bits: %zu bytes\n", small.memory(),
              big.memory());
  EXPECT_LT(small.memory(), big.memory());
}

// The receiving side keeps only the window the peer agreed to compress with, so a server that
// asks for client_max_window_bits=9 holds a fraction of the memory per connection between
// messages. Memory figures for docs/limits.md come from this test's output.
TEST(DeflateCodec, ReceiverKeepsOnlyTheAgreedWindow) {
  const std::string text = sample(20000);
  std::size_t held[2] = {};
  for (int i = 0; i < 2; ++i) {
    deflate_params p;
    p.client_max_window_bits = i == 0 ? 9 : 15;
    deflate_codec client(false, p, 6);
    deflate_codec server(true, p, 6);
    std::string packed, plain;
    ASSERT_TRUE(client.compress(text, packed));
    ASSERT_EQ(server.inflate(packed, true, plain, 1u << 20), deflate_codec::result::ok);
    EXPECT_EQ(plain, text);
    held[i] = server.memory();
  }
  std::printf("[ memory ] receiver window 9 bits: %zu bytes, 15 bits: %zu bytes\n", held[0],
              held[1]);
  EXPECT_LT(held[0] + 30000, held[1]);
}

// The shared mode imposes server_no_context_takeover, asked for or not (RFC 7692 7.1.1.1).
TEST(DeflateNegotiation, SharedCompressorImposesServerNoContextTakeover) {
  deflate_options o;
  o.enabled = true;
  o.shared_compressor = true;
  auto a = negotiate_deflate("permessage-deflate; client_max_window_bits", o);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->params.server_no_context_takeover);
  EXPECT_NE(a->response.find("server_no_context_takeover"), std::string::npos);
  o.shared_compressor = false;
  a = negotiate_deflate("permessage-deflate", o);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->params.server_no_context_takeover);
}

// One compression for every window serves any peer without context whose window is at least
// as large; windows out of range are refused.
TEST(DeflateMessage, InflatesForEveryPeerWithALargeEnoughWindow) {
  const std::string text = sample(40000);
  for (int bits = 9; bits <= 15; ++bits) {
    std::string packed;
    ASSERT_TRUE(deflate_message(text, bits, 6, packed));
    for (int peer = bits; peer <= 15; ++peer) {
      deflate_params p;
      p.server_no_context_takeover = true;
      p.server_max_window_bits = peer;
      deflate_codec client(false, p, 6);
      std::string plain;
      ASSERT_EQ(client.inflate(packed, true, plain, 1u << 20), deflate_codec::result::ok);
      EXPECT_EQ(plain, text) << bits << " into " << peer;
    }
    // The same call again gives the same bytes: nothing is carried from one message on.
    std::string again;
    ASSERT_TRUE(deflate_message(text, bits, 6, again));
    EXPECT_EQ(again, packed);
  }
  std::string out;
  EXPECT_FALSE(deflate_message(text, 8, 6, out));
  EXPECT_FALSE(deflate_message(text, 16, 6, out));
  ASSERT_TRUE(deflate_message("", 15, 6, out));
  EXPECT_EQ(out, std::string(1, '\0'));
}

// Tiers bound what a compressor that keeps context holds between messages, and its output
// still inflates with the agreed (larger) window. Figures for docs/limits.md.
TEST(DeflateCodec, MemoryTiersBoundTheCompressor) {
  std::size_t last = 0;
  for (int t = 0; t <= 6; ++t) {
    const auto tier = static_cast<compressor_memory>(t);
    deflate_codec server(true, {}, 6, tier);
    deflate_codec client(false, {}, 6);
    for (int m = 0; m < 3; ++m) {
      std::string packed, plain;
      ASSERT_TRUE(server.compress(sample(20000), packed));
      ASSERT_EQ(client.inflate(packed, true, plain, 1u << 20), deflate_codec::result::ok);
      EXPECT_EQ(plain, sample(20000));
    }
    std::printf("[ memory ] compressor tier %d: %zu bytes held\n", t, server.memory());
    EXPECT_GT(server.memory(), last);
    EXPECT_LT(server.memory(), (std::size_t{4096} << t) + 8192) << t;
    last = server.memory();
  }
}

// Without context the compressor is the thread's: the socket holds none, even mid-stream.
TEST(DeflateCodec, NoContextCompressorHoldsNothing) {
  deflate_params p;
  p.server_no_context_takeover = true;
  deflate_codec server(true, p, 6);
  std::string packed;
  ASSERT_TRUE(server.compress(sample(20000), packed));
  EXPECT_EQ(server.memory(), 0u);
  EXPECT_EQ(server.shared_window_bits(), 15);
  deflate_codec keeps(true, {}, 6);
  EXPECT_EQ(keeps.shared_window_bits(), 0);
}

// A peer that agreed to a 9-bit window but refers further back than 512 bytes, into an earlier
// message, sends data that cannot be read with the window we kept. (Within one call zlib may
// still resolve such a reference from the output it is writing: the check is at the window.)
TEST(DeflateCodec, DataBeyondTheAgreedWindowIsCorrupt) {
  std::string block;
  for (unsigned x = 3; block.size() < 300;) {
    x = x * 1103515245 + 12345;
    block += static_cast<char>(x >> 16);
  }
  deflate_codec wide_sender(false, {}, 6);
  std::string first, second;
  ASSERT_TRUE(wide_sender.compress(block + sample(2000), first));
  ASSERT_TRUE(wide_sender.compress(block, second));  // a reference 2,300 bytes back
  ASSERT_LT(second.size(), 100u);
  deflate_params narrow;
  narrow.client_max_window_bits = 9;
  deflate_codec rx(true, narrow, 6);
  deflate_codec wide_rx(true, {}, 6);
  std::string out;
  ASSERT_EQ(rx.inflate(first, true, out, 1u << 20), deflate_codec::result::ok);
  ASSERT_EQ(wide_rx.inflate(first, true, out, 1u << 20), deflate_codec::result::ok);
  out.clear();
  EXPECT_EQ(rx.inflate(second, true, out, 1u << 20), deflate_codec::result::corrupt);
  out.clear();
  EXPECT_EQ(wide_rx.inflate(second, true, out, 1u << 20), deflate_codec::result::ok);
  EXPECT_EQ(out, block);
}

// RFC 7692 section 7.2.3.4: a sender may end a message's data with a final block (BFINAL); the
// next message is then a new stream. Found by an attack run: the second message got 1007.
TEST(DeflateCodec, AMessageThatEndsItsStreamIsFollowedByAFreshOne) {
  auto raw_deflate = [](const std::string& text, int flush) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(text.size() + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, flush);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    if (flush == Z_SYNC_FLUSH) out.resize(out.size() - 4);  // section 7.2.1
    return out;
  };
  const std::string ended = raw_deflate("hello hello hello hello", Z_FINISH);
  const std::string fresh = raw_deflate("second message, second stream", Z_SYNC_FLUSH);
  deflate_codec rx(true, {}, 6);
  std::string out;
  ASSERT_EQ(rx.inflate(ended, true, out, 1u << 20), deflate_codec::result::ok);
  EXPECT_EQ(out, "hello hello hello hello");
  out.clear();
  ASSERT_EQ(rx.inflate(fresh, true, out, 1u << 20), deflate_codec::result::ok);
  EXPECT_EQ(out, "second message, second stream");
  // The final block split across pieces, then an empty last piece.
  out.clear();
  ASSERT_EQ(rx.inflate(ended.substr(0, 3), false, out, 1u << 20), deflate_codec::result::ok);
  ASSERT_EQ(rx.inflate(ended.substr(3), false, out, 1u << 20), deflate_codec::result::ok);
  ASSERT_EQ(rx.inflate({}, true, out, 1u << 20), deflate_codec::result::ok);
  EXPECT_EQ(out, "hello hello hello hello");
  // Bytes after the final block, in the same message, are not a message.
  out.clear();
  EXPECT_EQ(rx.inflate(ended + "\x01\x02", true, out, 1u << 20), deflate_codec::result::corrupt);
}

TEST(DeflateCodec, LimitAppliesToTheInflatedSizeWhileInflating) {
  deflate_params p;
  deflate_codec tx(true, p, 6);
  std::string bomb;
  tx.compress(std::string(8 << 20, '\0'), bomb);  // 8 MiB of zeros in a few KiB
  EXPECT_LT(bomb.size(), 16u * 1024);
  for (std::size_t limit : {(8u << 20) - 1, 8u << 20}) {
    deflate_codec rx(false, p, 6);
    std::string out;
    const auto r = rx.inflate(bomb, true, out, limit);
    EXPECT_EQ(r, limit == (8u << 20) ? deflate_codec::result::ok : deflate_codec::result::too_big)
        << limit;
    EXPECT_LE(out.size(), limit + 1);
  }
  deflate_codec rx(false, p, 6);
  std::string out;
  EXPECT_EQ(rx.inflate(bomb, true, out, 64 * 1024), deflate_codec::result::too_big);
  EXPECT_LE(out.size(), 64u * 1024 + 1);  // stopped right there, not after inflating it all
}

// The largest limit means no limit, for a caller that sets max_message_bytes to SIZE_MAX:
// "one byte past the limit" must not wrap around to a limit of zero.
TEST(DeflateCodec, LargestLimitIsNoLimit) {
  deflate_codec tx(false, {}, 6);
  deflate_codec rx(true, {}, 6);
  std::string packed, out;
  ASSERT_TRUE(tx.compress(sample(5000), packed));
  EXPECT_EQ(rx.inflate(packed, true, out, SIZE_MAX), deflate_codec::result::ok);
  EXPECT_EQ(out, sample(5000));
  limits l;
  l.max_message_bytes = SIZE_MAX;
  const std::string input = frame(fin | 0x40 | op_text, packed);
  const deflate_params defaults;
  const auto r = duplex::test::run({input}, l, role::server, &defaults);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].data, sample(5000));
}

TEST(DeflateCodec, CorruptDataIsReported) {
  deflate_codec rx(true, {}, 6);
  std::string out;
  EXPECT_EQ(rx.inflate("\xFF\xFF\xFF\xFF garbage", true, out, 1000),
            deflate_codec::result::corrupt);
}

// A compressed message cut into pieces must cost what the whole message costs, plus a small
// constant per piece: each empty piece once zero-filled 64 KiB of output space, so a peer could
// buy 140 ms of CPU with 786 KB of empty continuation frames. Counted, not timed.
TEST(DeflateCodec, EmptyFragmentsCostNoInflateWork) {
  constexpr std::size_t limit = 1u << 20;
  const std::string text = sample(5000);
  deflate_codec tx(false, {}, 6);
  std::string packed;
  ASSERT_TRUE(tx.compress(text, packed));

  deflate_codec whole(true, {}, 6);
  std::string expected;
  ASSERT_EQ(whole.inflate(packed, true, expected, limit), deflate_codec::result::ok);
  ASSERT_EQ(expected, text);

  deflate_codec rx(true, {}, 6);
  std::string out;
  ASSERT_EQ(rx.inflate(packed, false, out, limit), deflate_codec::result::ok);
  int failures = 0;
  for (int i = 0; i < 100000; ++i)
    failures += rx.inflate({}, false, out, limit) != deflate_codec::result::ok;
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(rx.inflate({}, true, out, limit), deflate_codec::result::ok);
  EXPECT_EQ(out, text);
  EXPECT_LE(rx.work().zlib_calls, whole.work().zlib_calls);
  EXPECT_LE(rx.work().bytes_written, whole.work().bytes_written);
  EXPECT_LE(rx.work().bytes_written, 3 * text.size());
  EXPECT_LT(out.capacity(), 2 * text.size());  // no output space was reserved ahead of need

  // The empty final piece still ended the message with 00 00 FF FF (RFC 7692 section 7.2.2):
  // with context takeover, the next message inflates from where this one stopped.
  packed.clear();
  out.clear();
  ASSERT_TRUE(tx.compress(text, packed));
  ASSERT_EQ(rx.inflate(packed, true, out, limit), deflate_codec::result::ok);
  EXPECT_EQ(out, text);
}

// The same bound when every compressed byte comes in its own fragment: at most one zlib call
// per piece, and bytes written in proportion to the bytes inflated (appends and growth copies).
TEST(DeflateCodec, OneByteFragmentsCostInProportion) {
  constexpr std::size_t limit = 1u << 20;
  std::string text;
  for (unsigned x = 1; text.size() < 200000;) {  // poorly compressible: many compressed bytes
    x = x * 1103515245 + 12345;
    text += static_cast<char>('a' + (x >> 16) % 26);
  }
  deflate_codec tx(false, {}, 6);
  std::string packed;
  ASSERT_TRUE(tx.compress(text, packed));
  ASSERT_GT(packed.size(), 100000u);
  deflate_codec rx(true, {}, 6);
  std::string out;
  int failures = 0;
  for (char c : packed)
    failures += rx.inflate({&c, 1}, false, out, limit) != deflate_codec::result::ok;
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(rx.inflate({}, true, out, limit), deflate_codec::result::ok);
  EXPECT_EQ(out, text);
  EXPECT_LE(rx.work().zlib_calls, packed.size() + 2);
  EXPECT_LE(rx.work().bytes_written, 3 * text.size());
}

// A message still arriving holds its inflated bytes until it ends: the limit bounds them, and
// the buffer's growth stops there too instead of doubling past it (to 128 KiB here).
TEST(DeflateCodec, MessageInProgressHoldsNoMoreThanTheLimit) {
  constexpr std::size_t limit = 70000;
  const std::string text = sample(limit);
  deflate_codec tx(false, {}, 6);
  std::string packed;
  ASSERT_TRUE(tx.compress(text, packed));
  deflate_codec rx(true, {}, 6);
  std::string out;
  for (std::size_t at = 0; at < packed.size(); at += 100)
    ASSERT_EQ(rx.inflate(std::string_view(packed).substr(at, 100), false, out, limit),
              deflate_codec::result::ok);
  EXPECT_EQ(out, text);
  // The allocator may round the request up a little; doubling would have given 131,072.
  EXPECT_LE(out.capacity(), limit + 64);
}

// ---- the connection with the extension on ----

std::string compressed_frame(std::uint8_t first, const std::string& text, bool masked = true) {
  deflate_codec c(false, {}, 6);
  std::string packed;
  c.compress(text, packed);
  return frame(static_cast<std::uint8_t>(first | 0x40), packed, masked);
}

run_result run_deflate(const pieces& parts, limits l = {}) {
  const deflate_params defaults;
  return run(parts, l, role::server, &defaults);
}

TEST(DeflateConnection, CompressedMessageInEverySplit) {
  const std::string text = sample(3000);
  const std::string input = compressed_frame(fin | op_text, text) + frame(fin | op_text, "plain");
  for (const auto& parts : all_splits(input)) {
    const auto r = run_deflate(parts);
    ASSERT_EQ(r.events.size(), 2u) << describe(parts);
    EXPECT_EQ(r.events[0].data, text);
    EXPECT_EQ(r.events[1].data, "plain");  // an uncompressed message is fine too
  }
}

TEST(DeflateConnection, FragmentedCompressedMessage) {
  deflate_codec c(false, {}, 6);
  std::string packed;
  const std::string text = sample(10000);
  c.compress(text, packed);
  const std::size_t third = packed.size() / 3;
  const std::string input =
      frame(0x40 | op_binary, packed.substr(0, third)) + frame(fin | op_ping, "p") +
      frame(op_cont, packed.substr(third, third)) + frame(fin | op_cont, packed.substr(2 * third));
  const auto r = run_deflate({input});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1].data, text);
}

// The hardening case end to end: 100,000 empty continuation frames inside a compressed
// message, which the codec now passes over without inflating. The message arrives whole, in
// both delivery modes, and its empty final frame still ends it.
TEST(DeflateConnection, EmptyContinuationFramesInACompressedMessage) {
  deflate_codec c(false, {}, 6);
  std::string packed;
  const std::string text = sample(3000);
  c.compress(text, packed);
  std::string input = frame(0x40 | op_text, packed);
  const std::string empty = frame(op_cont, "");
  for (int i = 0; i < 100000; ++i)
    input += empty;
  input += frame(fin | op_cont, "");
  const auto whole = run_deflate({input});
  ASSERT_EQ(whole.events.size(), 1u);
  EXPECT_EQ(whole.events[0].type, event_type::message);
  EXPECT_EQ(whole.events[0].data, text);
  limits l;
  l.stream_fragments = true;
  const auto streamed = run_deflate({input}, l);
  ASSERT_FALSE(streamed.events.empty());
  std::string joined;
  for (const auto& e : streamed.events) {
    EXPECT_EQ(e.type, event_type::fragment);
    joined += e.data;
  }
  EXPECT_EQ(joined, text);
  EXPECT_TRUE(streamed.events.back().last);
}

TEST(DeflateConnection, Rsv1RulesAndBadData) {
  struct bad {
    std::string input;
    std::uint16_t code;
  };
  for (const auto& b :
       {bad{frame(op_text, "a") + frame(fin | 0x40 | op_cont, "b"), 1002},
        bad{frame(fin | 0x40 | op_ping, ""), 1002}, bad{frame(fin | 0x20 | op_text, "x"), 1002},
        bad{frame(fin | 0x40 | op_binary, "\xFF\xFF\xFF\xFFnot deflate"), 1007},
        bad{compressed_frame(fin | op_text, "ok \xC0\xAF"), 1007}}) {
    const auto r = run_deflate({b.input});
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().code, b.code);
  }
  // Without the extension, RSV1 is a protocol error.
  const auto r = run({compressed_frame(fin | op_text, "hello")});
  EXPECT_EQ(r.events.back().error, make_error_code(errc::reserved_bits));
}

TEST(DeflateConnection, InflatedLimitExactlyPassesOneOverFails) {
  limits l;
  l.max_message_bytes = 100000;
  auto ok = run_deflate({compressed_frame(fin | op_binary, std::string(100000, 'a'))}, l);
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].data.size(), 100000u);
  auto over = run_deflate({compressed_frame(fin | op_binary, std::string(100001, 'a'))}, l);
  ASSERT_EQ(over.events.size(), 1u);
  EXPECT_EQ(over.events[0].code, 1009);
}

TEST(DeflateConnection, SendCompressesUnlessAskedNotTo) {
  connection server(role::server);
  server.enable_deflate({});
  ASSERT_TRUE(server.send(opcode::text, sample(4000)));
  ASSERT_TRUE(server.send(opcode::text, sample(4000), false));
  ASSERT_TRUE(server.send(opcode::text, "tiny"));  // under min_size: sent as it is
  std::string out(server.pending_output());
  parsed_frame a, b, c;
  ASSERT_TRUE(take_frame(out, a) && take_frame(out, b) && take_frame(out, c));
  EXPECT_EQ(a.first, fin | 0x40 | op_text);
  EXPECT_LT(a.payload.size(), 1000u);
  EXPECT_EQ(b.first, fin | op_text);
  EXPECT_EQ(c.first, fin | op_text);
  // And a client with the extension reads all three.
  connection client(role::client);
  client.enable_deflate({});
  std::string wire(server.pending_output());
  client.receive(wire);
  int n = 0;
  while (auto ev = client.next_event()) {
    EXPECT_EQ(ev->type, event_type::message);
    ++n;
  }
  EXPECT_EQ(n, 3);
}

}  // namespace
}  // namespace duplex::ws

namespace duplex::ws {
namespace {

// zlib emits nothing for a sync flush with no new input; an empty message must still be sent
// as one 0x00 byte (RFC 7692 section 7.2.3.6), or the peer cannot inflate it.
TEST(DeflateCodec, EmptyMessageAfterOthersStillInflates) {
  deflate_codec tx(false, {}, 6);
  deflate_codec rx(true, {}, 6);
  for (const char* text : {"abc", "", "", "x", ""}) {
    std::string packed, plain;
    ASSERT_TRUE(tx.compress(text, packed));
    EXPECT_FALSE(packed.empty());
    ASSERT_EQ(rx.inflate(packed, true, plain, 100), deflate_codec::result::ok)
        << "'" << text << "'";
    EXPECT_EQ(plain, text);
  }
}

}  // namespace
}  // namespace duplex::ws
