// Micro benchmarks of the hot paths: masking, UTF-8 validation, frame parsing, the handshake,
// and a deflate round trip. Run: build/release/bench/micro/duplex-micro
#include <benchmark/benchmark.h>

#include <string>

#include "duplex/core/utf8.hpp"
#include "duplex/http/request_parser.hpp"
#include "duplex/ws/connection.hpp"
#include "duplex/ws/deflate.hpp"
#include "duplex/ws/frame.hpp"
#include "duplex/ws/handshake.hpp"
#include "duplex/ws/mask.hpp"

namespace {

using namespace duplex;

void bytes_processed(benchmark::State& state, std::size_t per_iteration) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(per_iteration));
}

void BM_Mask(benchmark::State& state) {
  std::string data(static_cast<std::size_t>(state.range(0)), 'a');
  const ws::mask_key key{1, 2, 3, 4};
  for (auto _ : state) {
    ws::apply_mask(data.data(), data.size(), key, 0);
    benchmark::DoNotOptimize(data.data());
  }
  bytes_processed(state, data.size());
}
BENCHMARK(BM_Mask)->Arg(20)->Arg(1024)->Arg(1 << 20);

void BM_Utf8Ascii(benchmark::State& state) {
  const std::string data(static_cast<std::size_t>(state.range(0)), 'a');
  for (auto _ : state)
    benchmark::DoNotOptimize(core::is_valid_utf8(data));
  bytes_processed(state, data.size());
}
BENCHMARK(BM_Utf8Ascii)->Arg(20)->Arg(1024)->Arg(1 << 20);

void BM_Utf8Mixed(benchmark::State& state) {
  std::string data;
  while (data.size() < static_cast<std::size_t>(state.range(0)))
    data += "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  for (auto _ : state)
    benchmark::DoNotOptimize(core::is_valid_utf8(data));
  bytes_processed(state, data.size());
}
BENCHMARK(BM_Utf8Mixed)->Arg(1024)->Arg(1 << 20);

// A server connection reading masked 20-byte text frames, 64 to a read, as the echo path does.
void BM_ReceiveFrames(benchmark::State& state) {
  const std::string payload(20, 'x');
  const ws::mask_key key{9, 8, 7, 6};
  std::string wire;
  for (int i = 0; i < 64; ++i) {
    char h[ws::max_header_size];
    wire.append(h, ws::write_header(h, true, ws::opcode::text, payload.size(), &key));
    std::string p = payload;
    ws::apply_mask(p.data(), p.size(), key, 0);
    wire += p;
  }
  ws::connection c(ws::role::server);
  std::string buf;
  for (auto _ : state) {
    buf = wire;  // unmasking is in place
    c.receive({buf.data(), buf.size()});
    while (auto ev = c.next_event())
      benchmark::DoNotOptimize(ev->data.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
}
BENCHMARK(BM_ReceiveFrames);

void BM_SendFrame(benchmark::State& state) {
  ws::connection c(ws::role::server);
  const std::string payload(20, 'x');
  for (auto _ : state) {
    c.send(ws::opcode::text, payload, false);
    c.clear_output();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_SendFrame);

const std::string upgrade_request =
    "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8030\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8030\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n";

void BM_ParseRequestHead(benchmark::State& state) {
  for (auto _ : state) {
    http::request_parser p;
    benchmark::DoNotOptimize(p.parse(upgrade_request));
    benchmark::DoNotOptimize(p.request().target.data());
  }
  bytes_processed(state, upgrade_request.size());
}
BENCHMARK(BM_ParseRequestHead);

void BM_Handshake(benchmark::State& state) {
  for (auto _ : state) {
    http::request_parser p;
    p.parse(upgrade_request);
    ws::upgrade_request up;
    if (ws::validate_upgrade(p.request(), up)) state.SkipWithError("invalid upgrade");
    benchmark::DoNotOptimize(ws::accept_response(up.key));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Handshake);

void BM_DeflateRoundTrip(benchmark::State& state) {
  std::string text;
  while (text.size() < static_cast<std::size_t>(state.range(0)))
    text += R"({"type":"message","room":"lobby","nick":"ada","text":"hello there"} )";
  ws::deflate_codec server(true, {}, 6);
  ws::deflate_codec client(false, {}, 6);
  std::string packed, unpacked;
  for (auto _ : state) {
    packed.clear();
    unpacked.clear();
    server.compress(text, packed);
    client.inflate(packed, true, unpacked, 1 << 24);
    benchmark::DoNotOptimize(unpacked.data());
  }
  if (unpacked != text) state.SkipWithError("round trip changed the message");
  bytes_processed(state, text.size());
}
BENCHMARK(BM_DeflateRoundTrip)->Arg(256)->Arg(16 * 1024);

}  // namespace

BENCHMARK_MAIN();
