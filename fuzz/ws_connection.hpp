// The shared body of the two connection targets: any bytes, in any pieces, end only in
// documented events. Messages respect the limit, text is valid UTF-8, every close code is one
// the documentation lists, nothing follows a close, and output is well-formed frames.
#pragma once

#include "duplex/core/utf8.hpp"
#include "duplex/ws/close_code.hpp"
#include "duplex/ws/connection.hpp"
#include "fuzz_check.hpp"

#include <string>
#include <vector>

namespace duplex::fuzz {

inline bool documented_close(const ws::event& ev) {
  if (!ev.error)
    return ev.code == ws::to_int(ws::close_code::no_status) || ws::is_valid_on_wire(ev.code);
  return ev.code == 1002 || ev.code == 1007 || ev.code == 1008 || ev.code == 1009 ||
         ev.code == 1006;
}

// What a connection reports for `pieces`, one line per event, the end of input included.
inline std::vector<std::string> events_of(ws::role role, const ws::limits& l, int deflate,
                                          std::vector<std::vector<char>> pieces) {
  ws::connection c(role, l);
  if (deflate != 0) {
    ws::deflate_params p;
    p.client_no_context_takeover = p.server_no_context_takeover = deflate == 2;
    c.enable_deflate(p);
  }
  std::vector<std::string> seen;
  auto take = [&] {
    while (auto ev = c.next_event())
      seen.push_back(std::to_string(static_cast<int>(ev->type)) + "/" +
                     std::to_string(static_cast<int>(ev->op)) + "/" + std::to_string(ev->code) +
                     "/" + std::string(ev->data));
  };
  for (auto& piece : pieces) {
    c.receive(piece);
    take();
  }
  c.receive_eof();
  take();
  return seen;
}

// The same bytes give the same events however they are cut: whole (where the fused small
// message path runs), in the fuzzer's pieces, and byte by byte (where it never can).
inline void same_events_in_every_cut(ws::role role, const ws::limits& l, int deflate,
                                     const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const auto* first = reinterpret_cast<const char*>(data + 1);
  std::vector<std::vector<char>> whole{{first, first + (size - 1)}}, bytes;
  for (std::size_t i = 1; i < size; ++i)
    bytes.push_back({first + (i - 1), first + i});
  const auto a = events_of(role, l, deflate, chunks(data, size));
  FUZZ_CHECK(a == events_of(role, l, deflate, std::move(whole)));
  FUZZ_CHECK(a == events_of(role, l, deflate, std::move(bytes)));
}

inline void run_connection(ws::role role, const std::uint8_t* data, std::size_t size) {
  ws::limits l;
  l.max_message_bytes = 4096;
  l.max_fragments = 64;
  l.stream_fragments = size > 0 && (data[0] & 0x80) != 0;
  ws::connection c(role, l);
  // One bit of the input turns permessage-deflate on, with or without context takeover.
  if (size > 0 && (data[0] & 0x40) != 0) {
    ws::deflate_params p;
    p.client_no_context_takeover = p.server_no_context_takeover = (data[0] & 0x20) != 0;
    c.enable_deflate(p);
  }
  bool closed = false;
  for (auto& piece : chunks(data, size)) {
    c.receive(piece);
    while (auto ev = c.next_event()) {
      FUZZ_CHECK(!closed);
      if (ev->type == ws::event_type::close) {
        FUZZ_CHECK(documented_close(*ev));
        FUZZ_CHECK(c.done());
        closed = true;
      } else if (ev->type == ws::event_type::message) {
        FUZZ_CHECK(ev->data.size() <= 4096);
        if (ev->op == ws::opcode::text) FUZZ_CHECK(core::is_valid_utf8(ev->data));
      } else if (ev->type == ws::event_type::ping || ev->type == ws::event_type::pong) {
        FUZZ_CHECK(ev->data.size() <= 125);
      }
    }
  }
  c.receive_eof();
  while (auto ev = c.next_event()) {
    FUZZ_CHECK(!closed && ev->code == 1006);
    closed = true;
  }
  FUZZ_CHECK(c.done());
  // What we wrote is a sequence of complete frames, the close (if any) last.
  std::string_view out = c.pending_output();
  while (!out.empty()) {
    FUZZ_CHECK(out.size() >= 2);
    const auto b1 = static_cast<unsigned char>(out[1]);
    std::size_t len = b1 & 0x7F, at = 2;
    if (len == 126) {
      FUZZ_CHECK(out.size() >= 4);
      len = static_cast<unsigned char>(out[2]) << 8 | static_cast<unsigned char>(out[3]);
      at = 4;
    }
    FUZZ_CHECK(len <= 125 || at == 4);
    if (b1 & 0x80) at += 4;
    FUZZ_CHECK(((b1 & 0x80) != 0) == (role == ws::role::client));
    FUZZ_CHECK(out.size() >= at + len);
    const auto op = static_cast<unsigned char>(out[0]) & 0x0F;
    FUZZ_CHECK(op == 0x8 || op == 0xA);  // we only ever answer with pongs and a close
    out.remove_prefix(at + len);
  }
  // Streamed fragments follow the cuts by design; whole messages must not.
  if (!l.stream_fragments) {
    const int deflate = size > 0 && (data[0] & 0x40) != 0 ? ((data[0] & 0x20) != 0 ? 2 : 1) : 0;
    same_events_in_every_cut(role, l, deflate, data, size);
  }
}

}  // namespace duplex::fuzz
